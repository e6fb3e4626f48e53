/**
 * The sample app as a real process (`npm start`, or node with tsx), for the
 * tests where the process boundary is the point: start-up lines, exit codes,
 * signals, the environment read by server.ts. Readiness is awaited by event
 * (the "Listening on" line, or the exit), never by a deadline of its own: the
 * test's timeout is the only clock, so a busy machine makes it slower, not red.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'chai';

/** Every variable server.ts reads: the child gets only those a test sets. */
const VARIABLES = [
  'PORT',
  'REDIS_URL',
  'REDIS_CLUSTER_URLS',
  'ACCESS_TOKEN_SECRET',
  'REFRESH_TOKEN_SECRET',
  'ACCESS_TOKEN_TTL',
  'REFRESH_TOKEN_TTL',
  'REFRESH_REUSE_GRACE',
  'LOGIN_RATE_LIMIT',
  'REFRESH_RATE_LIMIT',
  'TRUST_PROXY',
  'NODE_ENV',
  'PUBLIC_ORIGIN',
  'ACCESS_TOKEN_PRIVATE_KEY',
  'ACCESS_TOKEN_KID',
  'HTTPS_REQUIRED',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
];

export interface Run {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  /** The exit code, once the process has exited and its output is all in. */
  exited: Promise<number | null>;
}

/** `npm start` without npm (or with it): runs sample-app/server.ts with tsx and only the given variables set. */
export function start(env: Record<string, string>, { npm = false } = {}): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !VARIABLES.includes(name)));
  const child = npm
    ? spawn('npm', ['start'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', 'sample-app/server.ts'], {
        env: { ...base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  // 'close' comes after 'exit' and after the pipes have delivered everything.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return { child, output: () => text, exited };
}

/** Resolves the base URL once the server says "Listening on ..."; rejects if it exits first. */
export function listening(run: Run): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = /Listening on (https?:\/\/localhost:\d+)/.exec(run.output());
      if (match?.[1] === undefined) return false;
      run.child.stdout?.off('data', onData);
      resolve(match[1]);
      return true;
    };
    const onData = (): void => {
      check();
    };
    run.child.stdout?.on('data', onData);
    if (check()) return;
    void run.exited.then(() => {
      if (!check()) reject(new Error(`server exited before listening:\n${run.output()}`));
    });
  });
}

/** Kills the process (SIGKILL) if it still runs, and waits for it. */
export async function stop(run: Run | undefined): Promise<void> {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
  }
  await run?.exited;
}

export interface LogRecord {
  level: string;
  time: string;
  msg: string;
  [key: string]: unknown;
}

/** The output's lines, each of which must be one JSON object with a level, an ISO time and a message. */
export function lines(output: string): LogRecord[] {
  return output
    .trimEnd()
    .split('\n')
    .map((line) => {
      const record = JSON.parse(line) as LogRecord;
      expect(record.level, line).to.be.oneOf(['info', 'warn', 'error']);
      expect(record.time, line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(record.msg, line).to.be.a('string');
      return record;
    });
}
