/**
 * The refresh section's servers: `POST /auth/refresh` with the library's
 * refreshHandler over a RedisSessionStore (as the README sets it up), or the
 * same Express app shape answering `{"ok":true}` without any work (bare).
 * Counts what it did, for the parent to read over IPC.
 */
import express from 'express';
import { createClient } from 'redis';
import { createTokenAuth, RedisSessionStore, refreshHandler } from '../../lib/index.js';
import { serve, serverConfig } from './serve.js';

export interface RefreshServerConfig {
  kind: 'refresh' | 'bare';
  redisUrl: string;
  prefix: string;
  accessSecret: string;
  refreshSecret: string;
}

const config = serverConfig() as RefreshServerConfig;
const counters = { refreshed: 0, grace: 0, reuseDetected: 0, answeredNot200: 0 };
const app = express();
app.use(express.json({ limit: '10kb' }));
app.use((_req, res, next) => {
  res.on('finish', () => {
    if (res.statusCode !== 200) counters.answeredNot200++;
  });
  next();
});

if (config.kind === 'refresh') {
  const client = createClient({ url: config.redisUrl, disableOfflineQueue: true });
  client.on('error', (error: Error) => {
    console.error(`refresh server: Redis: ${error.message}`);
  });
  await client.connect();
  const auth = createTokenAuth({
    accessToken: { secret: config.accessSecret },
    refreshToken: { secret: config.refreshSecret },
    store: new RedisSessionStore({ client, prefix: config.prefix }),
  });
  auth.on('refreshed', ({ grace }) => {
    counters.refreshed++;
    if (grace) counters.grace++;
  });
  auth.on('reuse_detected', () => {
    counters.reuseDetected++;
  });
  app.post('/auth/refresh', refreshHandler(auth));
} else {
  app.post('/auth/refresh', (_req, res) => {
    res.json({ ok: true });
  });
}

serve(app, () => ({ ...counters }));
