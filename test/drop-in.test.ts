/**
 * The README's drop-in server, examples/drop-in.ts, run the way a user runs
 * it: a real process (node --import tsx), on Express 5 and on Express 4, on a
 * private redis-server that is killed and restarted under it. Each run copies
 * the example verbatim into its own directory under .tmp/, whose
 * node_modules maps `express` to the Express version under test and
 * `express-token-pair` to lib/ (so no build is needed); that machinery is in
 * test/helpers/drop-in.ts. Also: the README shows the file verbatim, and it
 * compiles with exactOptionalPropertyTypes.
 */
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  alive,
  examples,
  expressMajor,
  freePort,
  project,
  readmeSnippet,
  root,
  start,
  startTypecheck,
  waitFor,
  type Run,
  type Typecheck,
} from './helpers/drop-in.js';
import { RedisServer, requireRedis } from './helpers/redis-server.js';

const ACCESS = 'drop-in-access-secret-0123456789-abcdefghij';
const REFRESH = 'drop-in-refresh-secret-0123456789-abcdefghi';
const DEMO_PASSWORD = 'drop-in demo password';
const LOGIN = { email: 'demo@example.com', password: DEMO_PASSWORD };

interface Pair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

describe('drop-in example (README "Use it in your app")', function () {
  this.timeout(120_000);
  let typecheck: Typecheck | undefined;

  before(() => {
    typecheck = startTypecheck();
  });

  after(() => {
    if (typecheck?.child.exitCode === null) typecheck.child.kill('SIGKILL');
    if (typecheck) rmSync(typecheck.dir, { recursive: true, force: true });
  });

  it('is the very text the README shows', () => {
    const file = readFileSync(join(examples, 'drop-in.ts'), 'utf8');
    expect(readmeSnippet()).to.equal(file.endsWith('\n') ? file : `${file}\n`);
  });

  for (const [name, expressPackage, major] of [
    ['Express 5', 'express', 5],
    ['Express 4', 'express4', 4],
  ] as const) {
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
          signal: AbortSignal.timeout(30_000),
        });
      }

      async function me(token: string): Promise<Response> {
        return fetch(`${base}/me`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(30_000),
        });
      }

      async function login(): Promise<Pair> {
        const response = await post('/auth/login', LOGIN);
        expect(response.status, await response.clone().text()).to.equal(200);
        expect(response.headers.get('cache-control')).to.equal('no-store');
        return (await response.json()) as Pair;
      }

      /** A 503 as the library answers it: JSON, store_unavailable, Retry-After, not cached. */
      async function expectUnavailable(response: Response): Promise<void> {
        const text = await response.text();
        expect(response.status, text).to.equal(503);
        expect(response.headers.get('content-type')).to.match(/^application\/json/);
        expect(JSON.parse(text)).to.include({ error: 'store_unavailable' });
        expect(response.headers.get('retry-after')).to.equal('1');
        expect(response.headers.get('cache-control')).to.equal('no-store');
      }

      before(async function () {
        this.timeout(120_000);
        requireRedis(this, true);
        redis = await RedisServer.start();
        dir = project(expressPackage);
        expect(expressMajor(dir), 'the express the copied example imports').to.equal(major);
        const port = await freePort();
        run = start(dir, {
          PORT: String(port),
          REDIS_URL: redis.url,
          ACCESS_TOKEN_SECRET: ACCESS,
          REFRESH_TOKEN_SECRET: REFRESH,
          DEMO_PASSWORD,
        });
        await waitFor('"Listening"', run, () => run.output().includes(`Listening on http://localhost:${port}`), 90_000);
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
        expect(readFileSync(join(dir!, 'drop-in.ts'), 'utf8')).to.equal(
          readFileSync(join(examples, 'drop-in.ts'), 'utf8'),
        );
        expect(realpathSync(join(dir!, 'node_modules', 'express'))).to.equal(
          realpathSync(join(root, 'node_modules', expressPackage)),
        );
      });

      it('logs in (no-store), serves /me, refreshes, logs out, and logs out everywhere', async () => {
        const pair = await login();
        expect(pair.tokenType).to.equal('Bearer');
        const who = await me(pair.accessToken);
        expect(who.status).to.equal(200);
        expect(await who.json()).to.deep.include({ userId: 'demo-user', claims: { role: 'admin' } });

        const renewed = await post('/auth/refresh', { refreshToken: pair.refreshToken });
        expect(renewed.status).to.equal(200);
        const next = (await renewed.json()) as Pair;
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
    it("compile with exactOptionalPropertyTypes on top of the project's strict settings", async function () {
      this.timeout(180_000);
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
