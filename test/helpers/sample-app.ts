/**
 * Shared pieces of the sample-app tests: an app factory with a controlled
 * clock and a captured log, and request helpers. The end-to-end suite run
 * once in memory and once against Redis is in sample-app-flows.ts.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createApp, type AppOptions, type SampleApp } from '../../sample-app/app.js';
import { createLogger, type PinoLogger } from '../../sample-app/logger.js';

export const SECRETS = {
  accessTokenSecret: 'sample-access-secret-0123456789-abcdefghij',
  refreshTokenSecret: 'sample-refresh-secret-0123456789-abcdefghij',
} as const;
export const PASSWORD = 'correct horse battery';
export const ACCESS_TTL = 900;
export const GRACE = 5;

/**
 * Time the app sees; tests move it forward instead of sleeping. Starts at
 * the real now when first read (not when the file loads: a factory made in
 * a `describe` body would otherwise start as far behind as the suite took
 * to reach it).
 */
export class TestClock {
  #now: number | undefined;
  get now(): number {
    this.#now ??= Date.now();
    return this.#now;
  }
  set now(value: number) {
    this.#now = value;
  }
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  /** The message, and an error's stack after it. */
  text: string;
  /** Everything else on the line: `event`, `userId`, `req`... */
  fields: Record<string, unknown>;
  /** The JSON line exactly as written. */
  raw: string;
}

/** The app's own logger (createLogger), writing each line into `lines`, parsed. */
export function captureLogger(lines: LogLine[]): PinoLogger {
  return createLogger({
    write: (raw: string) => {
      const {
        level,
        msg,
        err,
        time: _time,
        pid: _pid,
        hostname: _host,
        ...fields
      } = JSON.parse(raw) as {
        level: string;
        msg?: string;
        err?: { stack?: string };
        [key: string]: unknown;
      };
      lines.push({
        level: level === 'info' || level === 'warn' ? level : 'error',
        text: err ? `${msg ?? ''} ${err.stack ?? ''}` : (msg ?? ''),
        fields,
        raw,
      });
    },
  });
}

/** The security events logged so far (lines with an `event` field), as their fields. */
export function securityEvents(lines: LogLine[]): Array<Record<string, unknown>> {
  return lines.filter((line) => 'event' in line.fields).map((line) => line.fields);
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
    /** Empties the log and starts the clock again at the real now. */
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

export async function signUp(
  sample: SampleApp,
  email: string,
  password = PASSWORD,
): Promise<{ id: string; email: string }> {
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

/**
 * Resolves once `condition()` holds, polling every 10 ms; throws after
 * `within` ms, by default 15 s: a bound for a hang, not a measure of speed.
 */
export async function until(condition: () => boolean, within = 15_000): Promise<void> {
  const deadline = performance.now() + within;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `req.ip` of a supertest request. */
export const LOCAL_IP = '127.0.0.1';

/** The session id (`sid`) inside an access token. */
export function sessionIdOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string };
  return payload.sid;
}

let counter = 0;
/** A fresh address per call, so tests never collide on users. */
export function email(name = 'user'): string {
  counter += 1;
  return `${name}${counter}-${process.pid}@example.com`;
}
