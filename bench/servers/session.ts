/**
 * The session-store contender of the guard section: what an Express app
 * would pick instead of a token pair, express-session with connect-redis,
 * set up as their READMEs show (`resave: false`, `saveUninitialized: false`,
 * node-redis v5) over a private redis-server. The same Express 5 app and
 * `GET /me` answering `{"ok":true}`, let through only when the session holds
 * a user id (401 otherwise). `POST /login` starts a session (the bench calls
 * it once for the cookie). Per guarded request, express-session reads the
 * session (GET) and, its default with a store that can touch, renews its
 * expiry (EXPIRE). Counters: `guarded`, the /me requests answered 200.
 */
import { RedisStore } from 'connect-redis';
import express, { type RequestHandler } from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { serve, serverConfig } from './serve.js';

export interface SessionServerConfig {
  redisUrl: string;
  /** express-session's cookie-signing secret. */
  secret: string;
}

declare module 'express-session' {
  interface SessionData {
    userId: string;
    role: string;
  }
}

const config = serverConfig() as SessionServerConfig;
const client = createClient({ url: config.redisUrl, disableOfflineQueue: true });
client.on('error', (error: Error) => {
  console.error(`session server: Redis: ${error.message}`);
});
await client.connect();

let guarded = 0;
const requireSession: RequestHandler = (req, res, next) => {
  if (req.session.userId === undefined) {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  next();
};

const app = express();
app.use(
  session({
    store: new RedisStore({ client, prefix: 'bench-session:' }),
    secret: config.secret,
    resave: false,
    saveUninitialized: false,
  }),
);
app.post('/login', (req, res) => {
  // The claims a bench access token carries: a user id and a role.
  req.session.userId = 'bench-user-000000';
  req.session.role = 'member';
  res.json({ ok: true });
});
app.get('/me', requireSession, (_req, res) => {
  guarded++;
  res.json({ ok: true });
});
serve(app, () => ({ guarded }));
