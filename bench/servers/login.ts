/**
 * The login section's server: the sample app itself (createApp), with Redis
 * for users and sessions, rate limits off so that the storm is not turned
 * away, and its log quiet but for errors. Its counters are the event-loop
 * delay since the previous read: how long callbacks waited for the loop.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../../sample-app/app.js';
import type { Logger } from '../../sample-app/logger.js';
import { serve, serverConfig } from './serve.js';

export interface LoginServerConfig {
  redisUrl: string;
  bcryptCost: number;
  accessSecret: string;
  refreshSecret: string;
}

const quiet: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: (message, error) => {
    console.error(`login server: ${message}`, error ?? '');
  },
};

const config = serverConfig() as LoginServerConfig;
const sample = await createApp({
  accessTokenSecret: config.accessSecret,
  refreshTokenSecret: config.refreshSecret,
  bcryptCost: config.bcryptCost,
  loginRateLimit: 0,
  refreshRateLimit: 0,
  redis: { url: config.redisUrl, prefix: 'bench:' },
  logger: quiet,
});
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const ms = (nanoseconds: number): number => nanoseconds / 1e6;
serve(sample.app, () => {
  const read = {
    loopDelayP50Ms: ms(delay.percentile(50)),
    loopDelayP99Ms: ms(delay.percentile(99)),
    loopDelayMaxMs: ms(delay.max),
  };
  delay.reset();
  return read;
});
