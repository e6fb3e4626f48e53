/**
 * The README's drop-in server, examples/drop-in.ts, run the way a user runs
 * it: a real process (node --import tsx), on Express 5 and on Express 4, on a
 * private redis-server that is killed and restarted under it. Each run copies
 * the example verbatim into its own directory under .tmp/, whose
 * node_modules maps `express` to the Express version under test and
 * `express-token-pair` to lib/ (so no build is needed). Also: the README
 * shows the file verbatim, it compiles with exactOptionalPropertyTypes, and
 * the MIT license is there.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { RedisServer, requireRedis } from './helpers/redis-server.js';

const root = resolve(import.meta.dirname, '..');
const examples = join(root, 'examples');
const EXAMPLE_FILES = ['drop-in.ts', 'users.ts'];
const ACCESS = 'drop-in-access-secret-0123456789-abcdefghij';
const REFRESH = 'drop-in-refresh-secret-0123456789-abcdefghi';
const DEMO_PASSWORD = 'drop-in demo password';
const LOGIN = { email: 'demo@example.com', password: DEMO_PASSWORD };
/** Variables the example (or a parent shell) may read; the child gets only the ones a test sets. */
const VARIABLES = ['PORT', 'REDIS_URL', 'ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET', 'DEMO_PASSWORD', 'NODE_ENV'];

interface Pair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

interface Run {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<unknown>;
}

/** The first ```ts block of the README section "## Use it in your app". */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use it in your app\n');
  expect(start, 'README section "## Use it in your app"').to.be.greaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const match = /^```ts\n([\s\S]*?)^```$/m.exec(section);
  expect(match, 'a ```ts block in that section').to.not.equal(null);
  return match![1]!;
}

/** Only `exactOptionalPropertyTypes` rejects this: `url` is `string | undefined`, the option `url?: string`. */
const CANARY = "import { createClient } from 'redis';\nexport const client = createClient({ url: process.env.REDIS_URL });\n";

interface Typecheck {
  child: ChildProcess;
  dir: string;
  /** One entry per error, `path(line,col): error TS…: message`, paths from the repo root. */
  errors: Promise<string[]>;
}

/**
 * Type-checks the example files, and a canary, in a child `tsc` (so it runs
 * while the servers are being tested): the project's tsconfig, which is
 * strict, plus exactOptionalPropertyTypes.
 */
function startTypecheck(): Typecheck {
  const dir = join(root, '.tmp', `drop-in-types-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'canary.ts'), CANARY);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: '../../tsconfig.json',
    compilerOptions: { exactOptionalPropertyTypes: true, noEmit: true },
    files: [...EXAMPLE_FILES.map((file) => `../../examples/${file}`), 'canary.ts'],
    include: [],
  }));
  // The compiler's own coverage is of no interest to `npm run coverage`.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_V8_COVERAGE'));
  const child = spawn(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const errors = once(child, 'exit').then(() => text.split(/\n(?=\S)/).filter((entry) => /^\S+\(\d+,\d+\): error /.test(entry)));
  return { child, dir, errors };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => { resolvePort(typeof address === 'object' && address ? address.port : 0); });
    });
  });
}

/**
 * A directory that runs the example as its own little project: the example
 * files copied verbatim, `"type": "module"`, and node_modules/express a link
 * to the installed Express 5 (`express`) or Express 4 (`express4`).
 */
function project(expressPackage: string): string {
  const dir = join(root, '.tmp', `drop-in-${expressPackage}-${randomBytes(4).toString('hex')}`);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'express-token-pair'), { recursive: true });
  for (const file of EXAMPLE_FILES) copyFileSync(join(examples, file), join(dir, file));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'drop-in', private: true, type: 'module' }));
  symlinkSync(join(root, 'node_modules', expressPackage), join(modules, 'express'), 'dir');
  writeFileSync(join(modules, 'express-token-pair', 'package.json'),
    JSON.stringify({ name: 'express-token-pair', type: 'module', exports: './index.js' }));
  writeFileSync(join(modules, 'express-token-pair', 'index.js'),
    `export * from ${JSON.stringify(pathToFileURL(join(root, 'lib', 'index.ts')).href)};\n`);
  // Test scaffolding, preloaded: a normal exit on SIGTERM, so V8 writes its coverage (npm run coverage).
  writeFileSync(join(dir, 'exit-on-sigterm.js'), "process.once('SIGTERM', () => process.exit(0));\n");
  return dir;
}

/** The major version of the `express` that code in `dir` imports. */
function expressMajor(dir: string): number {
  const manifest = createRequire(join(dir, 'drop-in.ts')).resolve('express/package.json');
  return Number((JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version.split('.')[0]);
}

function start(dir: string, env: Record<string, string>): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !VARIABLES.includes(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './exit-on-sigterm.js', 'drop-in.ts'], {
    cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return { child, output: () => text, exited: once(child, 'exit') };
}

function alive(run: Run): boolean {
  return run.child.exitCode === null && run.child.signalCode === null;
}

async function waitFor(what: string, run: Run, check: () => boolean | Promise<boolean>, within = 10_000): Promise<void> {
  const deadline = Date.now() + within;
  while (!await check()) {
    if (!alive(run)) throw new Error(`the server exited while waiting for ${what}:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${run.output()}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

describe('drop-in example (README "Use it in your app")', function () {
  this.timeout(30_000);
  let typecheck: Typecheck | undefined;

  before(() => { typecheck = startTypecheck(); });

  after(() => {
    if (typecheck?.child.exitCode === null) typecheck.child.kill('SIGKILL');
    if (typecheck) rmSync(typecheck.dir, { recursive: true, force: true });
  });

  it('is the very text the README shows', () => {
    const file = readFileSync(join(examples, 'drop-in.ts'), 'utf8');
    expect(readmeSnippet()).to.equal(file.endsWith('\n') ? file : `${file}\n`);
  });

  for (const [name, expressPackage, major] of [['Express 5', 'express', 5], ['Express 4', 'express4', 4]] as const) {
    describe(`run as a server on ${name}, with Redis killed and restarted`, () => {
      let redis: RedisServer | undefined;
      let dir: string | undefined;
      let run: Run;
      let base: string;

      async function post(path: string, body: unknown, token?: string): Promise<Response> {
        return fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: typeof body === 'string' ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
        });
      }

      async function me(token: string): Promise<Response> {
        return fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      }

      async function login(): Promise<Pair> {
        const response = await post('/auth/login', LOGIN);
        expect(response.status, await response.clone().text()).to.equal(200);
        expect(response.headers.get('cache-control')).to.equal('no-store');
        return await response.json() as Pair;
      }

      /** A 503 as the library answers it: JSON, store_unavailable, Retry-After, not cached. */
      async function expectUnavailable(response: Response): Promise<void> {
        const text = await response.text();
        expect(response.status, text).to.equal(503);
        expect(response.headers.get('content-type')).to.match(/^application\/json/);
        expect(JSON.parse(text)).to.include({ error: 'store_unavailable' });
        expect(response.headers.get('retry-after')).to.equal('5');
        expect(response.headers.get('cache-control')).to.equal('no-store');
      }

      before(async function () {
        this.timeout(30_000);
        requireRedis(this, true);
        redis = await RedisServer.start();
        dir = project(expressPackage);
        expect(expressMajor(dir), 'the express the copied example imports').to.equal(major);
        const port = await freePort();
        run = start(dir, {
          PORT: String(port), REDIS_URL: redis.url, ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH, DEMO_PASSWORD,
        });
        await waitFor('"Listening"', run, () => run.output().includes(`Listening on http://localhost:${port}`), 20_000);
        base = `http://127.0.0.1:${port}`;
      });

      after(async () => {
        if (run && alive(run)) {
          run.child.kill('SIGTERM');
          const killer = setTimeout(() => run.child.kill('SIGKILL'), 3000);
          await run.exited;
          clearTimeout(killer);
        }
        await redis?.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it('is the example file itself, run with the intended Express', () => {
        expect(readFileSync(join(dir!, 'drop-in.ts'), 'utf8')).to.equal(readFileSync(join(examples, 'drop-in.ts'), 'utf8'));
        expect(realpathSync(join(dir!, 'node_modules', 'express'))).to.equal(realpathSync(join(root, 'node_modules', expressPackage)));
      });

      it('logs in (no-store), serves /me, refreshes, logs out, and logs out everywhere', async () => {
        const pair = await login();
        expect(pair.tokenType).to.equal('Bearer');
        const who = await me(pair.accessToken);
        expect(who.status).to.equal(200);
        expect(await who.json()).to.deep.include({ userId: 'demo-user', claims: { role: 'admin' } });

        const renewed = await post('/auth/refresh', { refreshToken: pair.refreshToken });
        expect(renewed.status).to.equal(200);
        const next = await renewed.json() as Pair;
        expect((await post('/auth/logout', { refreshToken: next.refreshToken })).status).to.equal(204);
        expect((await post('/auth/refresh', { refreshToken: next.refreshToken })).status).to.equal(401);

        const other = await login();
        expect((await post('/auth/logout-all', {}, other.accessToken)).status).to.equal(204);
        const ended = await post('/auth/refresh', { refreshToken: other.refreshToken });
        expect(ended.status).to.equal(401);
        expect(await ended.json()).to.include({ error: 'token_revoked' });
      });

      it('answers a wrong password and a malformed body as JSON, never an HTML page', async () => {
        const wrong = await post('/auth/login', { ...LOGIN, password: 'not it' });
        expect(wrong.status).to.equal(401);
        expect(await wrong.json()).to.deep.equal({ error: 'invalid_credentials' });

        const malformed = await post('/auth/login', '{"email":');
        expect(malformed.status).to.equal(400);
        expect(malformed.headers.get('content-type')).to.match(/^application\/json/);
        expect(await malformed.json()).to.deep.equal({ error: 'invalid_request' });
      });

      it('while Redis is down: /me still 200; login, refresh, logout and logout-all 503 JSON; the process stays up', async () => {
        const pair = await login();
        await redis!.kill();

        const who = await me(pair.accessToken);
        expect(who.status).to.equal(200);
        await expectUnavailable(await post('/auth/login', LOGIN));
        await expectUnavailable(await post('/auth/refresh', { refreshToken: pair.refreshToken }));
        await expectUnavailable(await post('/auth/logout', { refreshToken: pair.refreshToken }));
        await expectUnavailable(await post('/auth/logout-all', {}, pair.accessToken));

        // The client has seen the connection fail (its 'error' listener logged it) and retried.
        await waitFor('a logged Redis error', run, () => /^Redis: /m.test(run.output()));
        await new Promise((wake) => setTimeout(wake, 300));
        expect(alive(run), run.output()).to.equal(true);
        expect((await me(pair.accessToken)).status).to.equal(200);
        await expectUnavailable(await post('/auth/login', LOGIN));
      });

      it('once Redis is back, logs in and refreshes again, without a restart', async () => {
        await redis!.restart();
        let answer = 0;
        await waitFor('a login after Redis came back', run, async () => {
          answer = (await post('/auth/login', LOGIN)).status;
          return answer === 200;
        });
        expect(answer).to.equal(200);
        const pair = await login();
        expect((await me(pair.accessToken)).status).to.equal(200);
        expect((await post('/auth/refresh', { refreshToken: pair.refreshToken })).status).to.equal(200);
        expect(alive(run)).to.equal(true);
        // Tokens and secrets never reach the log.
        for (const secret of [ACCESS, REFRESH, DEMO_PASSWORD]) expect(run.output()).to.not.include(secret);
        expect(run.output()).to.not.match(/eyJ[\w-]+\.eyJ/);
      });
    });
  }

  describe('types', () => {
    it('compile with exactOptionalPropertyTypes on top of the project\'s strict settings', async function () {
      this.timeout(60_000);
      const errors = await typecheck!.errors;
      const canary = `${typecheck!.dir.slice(root.length + 1)}/canary.ts`;
      expect(errors.filter((error) => error.startsWith('examples/'))).to.deep.equal([]);
      // The canary's one error shows that the setting was on and the check really ran.
      const canaryErrors = errors.filter((error) => error.startsWith(canary));
      expect(canaryErrors).to.have.lengthOf(1);
      expect(canaryErrors[0]).to.match(/^\S+\(2,\d+\): error TS\d+: .*exactOptionalPropertyTypes/s);
    });
  });
});

describe('license', () => {
  it('package.json says MIT, LICENSE holds the MIT text, and npm packs it', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license?: unknown };
    expect(manifest.license).to.equal('MIT');
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license.startsWith('MIT License\n')).to.equal(true);
    expect(license).to.include('Copyright (c) 2026 express-token-pair contributors');
    expect(license).to.include('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    // What `npm pack` would put in the tarball (scripts off: no build, just the list).
    const listing = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const [packed] = JSON.parse(listing) as Array<{ files: Array<{ path: string }> }>;
    expect(packed!.files.map((file) => file.path)).to.include('LICENSE');
  });
});
