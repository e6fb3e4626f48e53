import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { expect } from 'chai';
import { RedisServer, requireRedis } from './helpers/redis-server.js';

const ACCESS = 'server-access-secret-0123456789-abcdefghij';
const REFRESH = 'server-refresh-secret-0123456789-abcdefghi';
const VARIABLES = [
  'PORT', 'REDIS_URL', 'ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET', 'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL',
  'REFRESH_REUSE_GRACE', 'LOGIN_RATE_LIMIT', 'REFRESH_RATE_LIMIT', 'TRUST_PROXY', 'NODE_ENV',
  'ACCESS_TOKEN_PRIVATE_KEY', 'ACCESS_TOKEN_KID',
];

interface Run {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` without npm (or with it): runs sample-app/server.ts with tsx and only the given variables set. */
function start(env: Record<string, string>, { npm = false } = {}): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !VARIABLES.includes(name)));
  const child = npm
    ? spawn('npm', ['start'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', 'sample-app/server.ts'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => text, exited };
}

/** The output's lines, each of which must be one JSON object with a level, an ISO time and a message. */
function lines(output: string): Array<{ level: string; time: string; msg: string; [key: string]: unknown }> {
  return output.trimEnd().split('\n').map((line) => {
    const record = JSON.parse(line) as { level: string; time: string; msg: string };
    expect(record.level, line).to.be.oneOf(['info', 'warn', 'error']);
    expect(record.time, line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(record.msg, line).to.be.a('string');
    return record;
  });
}

async function listening(run: Run, within = 8000): Promise<string> {
  const deadline = Date.now() + within;
  for (;;) {
    const match = /Listening on (http:\/\/localhost:\d+)/.exec(run.output());
    if (match?.[1]) return match[1];
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every live process below `pid` (Linux /proc); zombies count as gone. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') parents.set(Number(name), Number(ppid));
    } catch {
      // the process ended meanwhile
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0;) {
    const parent = queue.shift();
    for (const [child, ppid] of parents) {
      if (ppid === parent) { found.push(child); queue.push(child); }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { resolve(false); });
  });
}

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

async function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Signs up, logs in, reads /me, refreshes and logs out over real HTTP. */
async function walkThrough(base: string): Promise<void> {
  const credentials = { email: 'server-test@example.com', password: 'server test password' };
  expect((await post(`${base}/auth/register`, credentials)).status).to.equal(201);
  const login = await post(`${base}/auth/login`, credentials);
  expect(login.status).to.equal(200);
  const pair = await login.json() as { accessToken: string; refreshToken: string };
  expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${pair.accessToken}` } })).status).to.equal(200);
  const renewed = await post(`${base}/auth/refresh`, { refreshToken: pair.refreshToken });
  expect(renewed.status).to.equal(200);
  const next = await renewed.json() as { refreshToken: string };
  expect((await post(`${base}/auth/logout`, { refreshToken: next.refreshToken })).status).to.equal(204);
}

describe('sample app server (npm start)', function () {
  this.timeout(20_000);
  let run: Run | undefined;

  afterEach(async () => {
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    run = undefined;
  });

  it('starts in memory, says so, serves the whole flow, and shuts down cleanly on SIGTERM', async () => {
    run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH });
    const base = await listening(run);
    expect(run.output()).to.include('Sessions and users are kept in memory (set REDIS_URL to use Redis)');
    expect(run.output()).to.include('Rate limits: login, register and password change 10/min per IP, refresh 30/min per IP');
    const health = await fetch(`${base}/health`);
    expect(await health.json()).to.deep.equal({ status: 'ok', store: 'memory', storeOk: true });
    await walkThrough(base);

    run.child.kill('SIGTERM');
    expect(await run.exited).to.equal(0);
    expect(run.output()).to.include('SIGTERM received: shutting down').and.include('Stopped');
    for (const secret of [ACCESS, REFRESH, 'server test password']) expect(run.output()).to.not.include(secret);
    expect(run.output()).to.not.match(/eyJ[\w-]+\.eyJ/);
    // Structured JSON lines, one per request among them, the bearer token redacted.
    const written = lines(run.output());
    expect(written.map((line) => line.msg)).to.include.members([
      'POST /auth/register 201', 'POST /auth/login 200', 'GET /me 200', 'POST /auth/refresh 200', 'POST /auth/logout 204',
    ]);
    const meLine = written.find((line) => line.msg === 'GET /me 200');
    expect(meLine?.req).to.deep.include({ method: 'GET', url: '/me' });
    expect((meLine?.req as { headers: Record<string, string> }).headers.authorization).to.equal('[Redacted]');
    expect(written.find((line) => line.event === 'session_revoked')).to.include({ reason: 'logout', ip: '::ffff:127.0.0.1' });
  });

  it('warns about random secrets in development', async () => {
    run = start({ PORT: '0' });
    await listening(run);
    expect(run.output()).to.include('Warning: ACCESS_TOKEN_SECRET is not set: using a random secret');
    expect(run.output()).to.include('Warning: REFRESH_TOKEN_SECRET is not set');
  });

  it('refuses to start in production without secrets, naming the variable', async () => {
    run = start({ PORT: '0', NODE_ENV: 'production' });
    expect(await run.exited).to.equal(1);
    expect(lines(run.output()).map((line) => line.msg)).to.have.length(1);
    expect(lines(run.output())[0]).to.include({ level: 'error' });
    expect(lines(run.output())[0]?.msg).to.match(/^Configuration error: ACCESS_TOKEN_SECRET is required when NODE_ENV=production/);
    expect(run.output()).to.not.include('Listening');
  });

  it('refuses a bad value, naming the variable', async () => {
    run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, LOGIN_RATE_LIMIT: 'lots' });
    expect(await run.exited).to.equal(1);
    expect(run.output()).to.include('Configuration error: LOGIN_RATE_LIMIT must be a whole number from 0 to');
  });

  it('refuses a TRUST_PROXY that trusts every client with one configuration-error line, not a crash', async () => {
    for (const value of ['0.0.0.0/0', '::/0', '99', '10.0.0.0/33']) {
      run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, TRUST_PROXY: value });
      expect(await run.exited, value).to.equal(1);
      expect(lines(run.output()), value).to.have.length(1);
      expect(lines(run.output())[0]?.msg, value).to.match(/^Configuration error: TRUST_PROXY /);
    }
  });

  it('npm start: kill <pid of npm> (SIGTERM) stops the server and frees the port, leaving no process behind', async () => {
    const port = await freePort();
    run = start({ PORT: String(port), ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH }, { npm: true });
    const npmPid = run.child.pid ?? 0;
    await listening(run, 15_000);
    const tree = descendants(npmPid);
    expect(tree, 'processes under npm').to.not.have.length(0);
    try {
      run.child.kill('SIGTERM');
      await run.exited;
      const deadline = Date.now() + 5000;
      while ((tree.some(alive) || await portOpen(port)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(tree.filter(alive), 'processes still running after npm was killed').to.deep.equal([]);
      expect(await portOpen(port), 'port still open').to.equal(false);
      expect(run.output()).to.include('SIGTERM received: shutting down').and.include('Stopped');
    } finally {
      for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });

  describe('with REDIS_URL', () => {
    let redis: RedisServer;
    before(async function () {
      requireRedis(this, true);
      redis = await RedisServer.start();
    });
    after(async () => { await redis?.stop(); });

    it('gives up at start-up when Redis refuses the connection, masking the password in the message', async () => {
      // This redis-server has no password, so AUTH fails on every attempt.
      run = start({
        PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH,
        REDIS_URL: `redis://:not-shown@127.0.0.1:${redis.port}`,
      });
      expect(await run.exited).to.equal(1);
      expect(run.output()).to.include(`Could not start: could not connect to Redis at redis://:***@127.0.0.1:${redis.port} after 5 attempts`);
      expect(run.output()).to.not.include('not-shown');
      expect(run.output()).to.not.include('Listening');
    });

    it('keeps everything in Redis, serves the whole flow, and closes the connection on SIGINT', async () => {
      run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, REDIS_URL: redis.url });
      const base = await listening(run);
      expect(run.output()).to.include(`Sessions, users and rate limits are kept in Redis at ${redis.url}`);
      expect(await (await fetch(`${base}/health`)).json()).to.deep.equal({ status: 'ok', store: 'redis', storeOk: true });
      await walkThrough(base);
      run.child.kill('SIGINT');
      expect(await run.exited).to.equal(0);
      expect(run.output()).to.include('Stopped');
    });
  });
});
