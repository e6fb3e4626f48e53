/**
 * Shared pieces of the sample-app tests: an app factory with a controlled
 * clock and a captured log, and request helpers. The end-to-end suite run
 * once in memory and once against Redis is in sample-app-flows.ts.
 */
import { inspect } from 'node:util';
import { expect } from 'chai';
import request from 'supertest';
import { createApp, type AppOptions, type SampleApp } from '../../sample-app/app.js';
import type { Logger } from '../../sample-app/logger.js';

export const SECRETS = {
  accessTokenSecret: 'sample-access-secret-0123456789-abcdefghij',
  refreshTokenSecret: 'sample-refresh-secret-0123456789-abcdefghij',
} as const;
export const PASSWORD = 'correct horse battery';
export const ACCESS_TTL = 900;
export const GRACE = 5;

/** Time the app sees; tests move it forward instead of sleeping. Starts at the real now. */
export class TestClock {
  now = Date.now();
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  text: string;
}

export function captureLogger(lines: LogLine[]): Logger {
  return {
    info: (text) => { lines.push({ level: 'info', text }); },
    warn: (text) => { lines.push({ level: 'warn', text }); },
    error: (text, error) => {
      lines.push({ level: 'error', text: error === undefined ? text : `${text} ${error instanceof Error ? error.stack ?? '' : inspect(error)}` });
    },
  };
}

/**
 * Builds apps with test defaults (bcrypt cost 4, limits out of the way, the
 * shared clock and log) over `base()`; `closeAll()` closes them.
 */
export function appFactory(base: () => Partial<AppOptions>) {
  const opened: SampleApp[] = [];
  const logs: LogLine[] = [];
  const clock = new TestClock();
  return {
    clock,
    logs,
    async make(overrides: Partial<AppOptions> = {}): Promise<SampleApp> {
      const sample = await createApp({
        ...SECRETS,
        accessTokenTtl: ACCESS_TTL,
        reuseGrace: GRACE,
        bcryptCost: 4,
        loginRateLimit: 1000,
        refreshRateLimit: 1000,
        clock: clock.read,
        logger: captureLogger(logs),
        ...base(),
        ...overrides,
      });
      opened.push(sample);
      return sample;
    },
    async closeAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((sample) => sample.close()));
    },
    reset(): void {
      logs.length = 0;
      clock.now = Date.now();
    },
  };
}

export interface LoginBody {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string; email: string };
}

export async function signUp(sample: SampleApp, email: string, password = PASSWORD): Promise<{ id: string; email: string }> {
  const res = await request(sample.app).post('/auth/register').send({ email, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return (res.body as { user: { id: string; email: string } }).user;
}

export async function logIn(sample: SampleApp, email: string, password = PASSWORD): Promise<LoginBody> {
  const res = await request(sample.app).post('/auth/login').send({ email, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as LoginBody;
}

export function refresh(sample: SampleApp, refreshToken: string): request.Test {
  return request(sample.app).post('/auth/refresh').send({ refreshToken });
}

export function me(sample: SampleApp, accessToken: string): request.Test {
  return request(sample.app).get('/me').set('Authorization', `Bearer ${accessToken}`);
}

let counter = 0;
/** A fresh address per call, so tests never collide on users. */
export function email(name = 'user'): string {
  counter += 1;
  return `${name}${counter}-${process.pid}@example.com`;
}
