/**
 * The sample app as a real process: start-up lines, exit codes, signals,
 * the whole flow over real HTTP. What needs no process (each TRUST_PROXY
 * value, each bad variable) is tested in-process in sample-app.config.test.ts:
 * here one of each kind, with readiness awaited by event and a generous
 * timeout, so a busy machine makes these slower, not red.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { expect } from 'chai';
import { RedisServer, requireRedis } from './helpers/redis-server.js';
import { lines, listening, start, stop, type Run } from './helpers/sample-app-process.js';

const ACCESS = 'server-access-secret-0123456789-abcdefghij';
const REFRESH = 'server-refresh-secret-0123456789-abcdefghi';

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
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
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
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
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
  const pair = (await login.json()) as { accessToken: string; refreshToken: string };
  expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${pair.accessToken}` } })).status).to.equal(
    200,
  );
  const renewed = await post(`${base}/auth/refresh`, { refreshToken: pair.refreshToken });
  expect(renewed.status).to.equal(200);
  const next = (await renewed.json()) as { refreshToken: string };
  expect((await post(`${base}/auth/logout`, { refreshToken: next.refreshToken })).status).to.equal(204);
}

describe('sample app server (npm start)', function () {
  // Each test starts one process (tsx compiles on start): seconds when idle, many more on a loaded machine.
  this.timeout(90_000);
  let run: Run | undefined;

  afterEach(async () => {
    await stop(run);
    run = undefined;
  });

  it('starts in memory, says so, serves the whole flow, and shuts down cleanly on SIGTERM', async () => {
    run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH });
    const base = await listening(run);
    expect(run.output()).to.include('Sessions and users are kept in memory (set REDIS_URL to use Redis)');
    expect(run.output()).to.include(
      'Rate limits: login, register and password change 10/min per IP, refresh 30/min per IP',
    );
    const health = await fetch(`${base}/health`);
    const body = (await health.json()) as { report: { ready: boolean; store: { kind: string } } };
    expect(body).to.deep.include({ status: 'ok', store: 'memory', storeOk: true });
    expect(body.report).to.deep.include({ ready: true });
    expect(body.report.store.kind).to.equal('MemorySessionStore');
    await walkThrough(base);

    run.child.kill('SIGTERM');
    expect(await run.exited).to.equal(0);
    expect(run.output()).to.include('SIGTERM received: shutting down').and.include('Stopped');
    for (const secret of [ACCESS, REFRESH, 'server test password']) expect(run.output()).to.not.include(secret);
    expect(run.output()).to.not.match(/eyJ[\w-]+\.eyJ/);
    // Structured JSON lines, one per request among them, the bearer token redacted.
    const written = lines(run.output());
    expect(written.map((line) => line.msg)).to.include.members([
      'POST /auth/register 201',
      'POST /auth/login 200',
      'GET /me 200',
      'POST /auth/refresh 200',
      'POST /auth/logout 204',
    ]);
    const meLine = written.find((line) => line.msg === 'GET /me 200');
    expect(meLine?.req).to.deep.include({ method: 'GET', url: '/me' });
    expect((meLine?.req as { headers: Record<string, string> }).headers.authorization).to.equal('[Redacted]');
    expect(written.find((line) => line.event === 'session_revoked')).to.include({
      reason: 'logout',
      ip: '::ffff:127.0.0.1',
    });
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
    expect(lines(run.output())[0]?.msg).to.match(
      /^Configuration error: ACCESS_TOKEN_SECRET is required when NODE_ENV=production/,
    );
    expect(run.output()).to.not.include('Listening');
  });

  it('refuses a bad value, naming the variable', async () => {
    run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, LOGIN_RATE_LIMIT: 'lots' });
    expect(await run.exited).to.equal(1);
    expect(run.output()).to.include('Configuration error: LOGIN_RATE_LIMIT must be a whole number from 0 to');
  });

  // One value through the process boundary (exit code 1, one line, no stack); every value's message is
  // checked in-process by sample-app.config.test.ts ("refuses TRUST_PROXY values that trust (nearly) every client").
  it('refuses a TRUST_PROXY that trusts every client with one configuration-error line, not a crash', async () => {
    run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, TRUST_PROXY: '0.0.0.0/0' });
    expect(await run.exited).to.equal(1);
    expect(lines(run.output())).to.have.length(1);
    expect(lines(run.output())[0]?.msg).to.match(/^Configuration error: TRUST_PROXY subnet "0.0.0.0\/0" is too wide/);
  });

  it('npm start: kill <pid of npm> (SIGTERM) stops the server and frees the port, leaving no process behind', async () => {
    const port = await freePort();
    run = start({ PORT: String(port), ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH }, { npm: true });
    const npmPid = run.child.pid ?? 0;
    await listening(run);
    const tree = descendants(npmPid);
    expect(tree, 'processes under npm').to.not.have.length(0);
    try {
      run.child.kill('SIGTERM');
      // npm's own exit (not run.exited, which waits for the pipes npm shares with the node below it).
      if (run.child.exitCode === null && run.child.signalCode === null) await once(run.child, 'exit');
      // The node process below npm ends once its requests are done (the server gives them 10 s at most):
      // a minute is far beyond that on any machine, however busy, and still inside the test's timeout.
      const deadline = Date.now() + 60_000;
      while ((tree.some(alive) || (await portOpen(port))) && Date.now() < deadline) {
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
    after(async () => {
      await redis?.stop();
    });

    it('gives up at start-up when Redis refuses the connection, masking the password in the message', async () => {
      // This redis-server has no password, so AUTH fails on every attempt.
      run = start({
        PORT: '0',
        ACCESS_TOKEN_SECRET: ACCESS,
        REFRESH_TOKEN_SECRET: REFRESH,
        REDIS_URL: `redis://:not-shown@127.0.0.1:${redis.port}`,
      });
      expect(await run.exited).to.equal(1);
      expect(run.output()).to.include(
        `Could not start: could not connect to Redis at redis://:***@127.0.0.1:${redis.port} after 5 attempts`,
      );
      expect(run.output()).to.not.include('not-shown');
      expect(run.output()).to.not.include('Listening');
    });

    it('keeps everything in Redis, serves the whole flow, and closes the connection on SIGINT', async () => {
      run = start({ PORT: '0', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, REDIS_URL: redis.url });
      const base = await listening(run);
      expect(run.output()).to.include(`Sessions, users and rate limits are kept in Redis at ${redis.url}`);
      const body = (await (await fetch(`${base}/health`)).json()) as { report: { ready: boolean; store: object } };
      expect(body).to.deep.include({ status: 'ok', store: 'redis', storeOk: true });
      expect(body.report).to.deep.include({ ready: true });
      expect(body.report.store).to.include({ kind: 'RedisSessionStore', client: 'node-redis' });
      await walkThrough(base);
      run.child.kill('SIGINT');
      expect(await run.exited).to.equal(0);
      expect(run.output()).to.include('Stopped');
    });
  });
});
