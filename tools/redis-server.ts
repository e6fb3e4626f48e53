/**
 * A private redis-server for the tests and the bench: a free port, no
 * persistence, its own temp dir, so suites are isolated and can kill, pause
 * and restart it to test faults. When REDIS_URL is set, `sharedRedis()` uses
 * that server instead (keys under a unique prefix; never flushed).
 * Both test/ and bench/ import it from here (bench never imports test/);
 * test/helpers/redis-server.ts re-exports it with the mocha-only `requireRedis`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const binary = process.env.REDIS_SERVER ?? 'redis-server';

/** Why Redis tests cannot run here, or undefined if they can. */
export function redisUnavailableReason(needPrivate = false): string | undefined {
  if (process.env.REDIS_URL && !needPrivate) return undefined;
  const found = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    return (
      `no ${binary} binary found${process.env.REDIS_URL ? '' : ' and REDIS_URL is not set'}` +
      ' (install it: apt-get install -y redis-server)'
    );
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resolves true once `PING` answers `+PONG` on the port. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), 'etp-redis-'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a fresh server on a free port. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--dbfilename',
        'dump.rdb',
        '--loglevel',
        'warning',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.#process = child;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${this.port}`);
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${this.port}`);
  }

  /** Writes the dataset to disk now (so `restart` brings it back). */
  async save(): Promise<void> {
    const result = spawnSync('redis-cli', ['-p', String(this.port), 'SAVE'], { encoding: 'utf8' });
    if (result.status !== 0 || !result.stdout.includes('OK')) {
      throw new Error(`SAVE failed: ${result.stderr || result.stdout}`);
    }
  }

  /** Kills the server outright (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Starts it again on the same port and dir (loading dump.rdb if saved). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A unique key prefix, so tests never touch each other's keys (or anyone's). */
export function uniquePrefix(): string {
  return `etp-test:${randomBytes(6).toString('hex')}:`;
}

/**
 * The Redis a suite should use: REDIS_URL when set, else a private server.
 * `close()` stops the private server (a shared one is left alone; tests
 * there delete only their own prefixed keys).
 */
export async function sharedRedis(): Promise<{ url: string; close: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, close: async () => {} };
  const server = await RedisServer.start();
  return { url: server.url, close: () => server.stop() };
}
