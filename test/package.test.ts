/**
 * Tests what users install: `npm pack` (prepack builds dist/), the tarball
 * unpacked into consumer projects under .tmp/, and the package used from
 * ESM, CommonJS (require(esm), Node >= 20.19) and TypeScript. The consumers
 * live inside the repo so that Node walks up to its node_modules for
 * jsonwebtoken and the type packages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import * as source from '../lib/index.js';

const root = resolve(import.meta.dirname, '..');
const PACKAGE = 'express-token-pair';

/** What each JavaScript consumer prints. */
interface ConsumerReport {
  format: string;
  exports: string[];
  tokenType: string;
  expiresIn: number;
  userId: string;
  sameSession: boolean;
  claims: Record<string, unknown>;
  refreshAsAccess: { name: string; code: string; status: number; isBase: boolean };
  middleware: { userId: string | undefined; nextCalledWith: number };
  wiring: string;
}

/** Shared by both consumers: the body of an async function given the package as `pkg`. */
const scenario = `
  const { createTokenAuth, MemorySessionStore, requireAccessToken, TokenPairError, TokenInvalidError } = pkg;
  const store = new MemorySessionStore();
  const auth = createTokenAuth({
    accessToken: { secret: 'a'.repeat(32) },
    refreshToken: { secret: 'r'.repeat(32) },
    store,
  });
  const pair = await auth.issue({ userId: 'user-1', claims: { role: 'admin' } });
  const who = auth.verifyAccessToken(pair.accessToken);
  let refreshAsAccess;
  try {
    auth.verifyAccessToken(pair.refreshToken);
  } catch (error) {
    if (!(error instanceof TokenInvalidError)) throw error;
    refreshAsAccess = {
      name: error.name, code: error.code, status: error.status, isBase: error instanceof TokenPairError,
    };
  }
  const req = { headers: { authorization: 'Bearer ' + pair.accessToken } };
  let nextCalledWith = -1;
  requireAccessToken(auth)(req, {}, (...args) => { nextCalledWith = args.length; });
  let wiring = '';
  try {
    requireAccessToken({});
  } catch (error) {
    wiring = error.message;
  }
  store.close();
  return {
    exports: Object.keys(pkg).filter((name) => name !== 'default' && name !== '__esModule').sort(),
    tokenType: pair.tokenType,
    expiresIn: pair.expiresIn,
    userId: who.userId,
    sameSession: typeof who.sessionId === 'string' && who.sessionId.length > 0,
    claims: who.claims,
    refreshAsAccess,
    middleware: { userId: req.auth && req.auth.userId, nextCalledWith },
    wiring,
  };
`;

const consumers = {
  esm: {
    label: 'an ESM',
    packageJson: { name: 'esm-consumer', private: true, type: 'module' },
    file: 'index.mjs',
    code: `import * as pkg from '${PACKAGE}';
// The named imports a user writes must resolve too.
import { createTokenAuth, MemorySessionStore, requireAccessToken, refreshHandler, logoutHandler } from '${PACKAGE}';
if (![createTokenAuth, MemorySessionStore, requireAccessToken, refreshHandler, logoutHandler].every((f) => typeof f === 'function')) {
  throw new Error('a named import is not a function');
}
const report = await (async () => {${scenario}})();
console.log(JSON.stringify({ format: 'esm', ...report }));
`,
  },
  cjs: {
    label: 'a CommonJS',
    packageJson: { name: 'cjs-consumer', private: true, type: 'commonjs' },
    file: 'index.cjs',
    code: `'use strict';
const pkg = require('${PACKAGE}');
(async () => {${scenario}})().then(
  (report) => { console.log(JSON.stringify({ format: 'cjs', ...report })); },
  (error) => { console.error(error); process.exitCode = 1; },
);
`,
  },
} as const;

/** A TypeScript consumer: must compile against the packed .d.ts files. */
const typescriptConsumer = {
  'package.json': { name: 'ts-consumer', private: true, type: 'module' },
  'tsconfig.json': {
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
      noEmit: true, skipLibCheck: false, types: ['node'], lib: ['ES2023'],
    },
    files: ['index.ts'],
  },
  'index.ts': `import express from 'express';
import {
  createTokenAuth, MemorySessionStore, requireAccessToken, refreshHandler, logoutHandler,
  type AuthContext, type TokenPair, type SessionStore,
} from '${PACKAGE}';
import { createAuthClient, type AuthClient } from '${PACKAGE}/client';

const store: SessionStore = new MemorySessionStore();
export const client: AuthClient = createAuthClient({ refreshUrl: 'http://127.0.0.1:3000/auth/refresh', transport: { get: () => undefined, set: () => {} } });
const auth = createTokenAuth({ accessToken: { secret: 'a'.repeat(32), ttl: '15m' }, refreshToken: { secret: 'r'.repeat(32) }, store });
const app = express();
app.use(express.json());
app.post('/refresh', refreshHandler(auth));
app.post('/logout', logoutHandler(auth, { all: true }));
app.get('/me', requireAccessToken(auth), (req, res) => {
  const who: AuthContext | undefined = req.auth;
  res.json(who);
});
export async function pair(): Promise<TokenPair> {
  return auth.issue({ userId: 42 });
}
// The types are real (not any): each misuse below must be an error.
// @ts-expect-error ttl is a Duration, not any string
createTokenAuth({ accessToken: { secret: 'a'.repeat(32), ttl: 'soon' }, refreshToken: { secret: 'r'.repeat(32) }, store });
// @ts-expect-error logoutHandler's all is a boolean
logoutHandler(auth, { all: 'yes' });
`,
};

/**
 * An ESM consumer of express-token-pair/client, in Node as a browser would
 * use it: a stub fetch answers 401 token_expired once, the client refreshes
 * (cookie mode) and retries.
 */
const clientConsumer = `import { createAuthClient, AuthClientError } from '${PACKAGE}/client';
const calls = [];
let expired = true;
const client = createAuthClient({
  refreshUrl: 'https://api.test/auth/refresh',
  channel: false,
  fetch: async (input, init = {}) => {
    const headers = new Headers(init.headers);
    calls.push([String(input), init.credentials ?? null, headers.get('authorization'), headers.get('x-token-transport')]);
    if (String(input).endsWith('/refresh')) return Response.json({ accessToken: 'a2', tokenType: 'Bearer', expiresIn: 900 });
    if (expired) { expired = false; return Response.json({ error: 'token_expired' }, { status: 401 }); }
    return Response.json({ ok: true });
  },
});
await client.setTokens({ accessToken: 'a1', expiresIn: 900 });
const res = await client.fetch('https://api.test/me');
console.log(JSON.stringify({ status: res.status, token: client.getAccessToken(), calls, isError: typeof AuthClientError }));
`;

/** A browser-only TypeScript consumer: the DOM lib, no @types/node. */
const domConsumer = {
  'package.json': { name: 'ts-dom-consumer', private: true, type: 'module' },
  'tsconfig.json': {
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
      noEmit: true, skipLibCheck: false, types: [], lib: ['ES2022', 'DOM'],
    },
    files: ['index.ts'],
  },
  'index.ts': `import { createAuthClient, AuthClientError, type AuthClient, type SessionEndedEvent } from '${PACKAGE}/client';

export const client: AuthClient = createAuthClient({
  refreshUrl: '/auth/refresh',
  logoutUrl: '/auth/logout',
  locks: navigator.locks,
  fetch: window.fetch,
  transport: { get: () => localStorage.getItem('rt') ?? undefined, set: (token) => { if (token) localStorage.setItem('rt', token); } },
  onSessionEnded: (event: SessionEndedEvent) => { location.assign('/login?reason=' + event.reason); },
});
export async function me(): Promise<unknown> {
  try {
    return await (await client.fetch('/me', { headers: { accept: 'application/json' } })).json();
  } catch (error) {
    if (error instanceof AuthClientError && error.code === 'refresh_failed') return undefined;
    throw error;
  }
}
// @ts-expect-error transport is 'cookie' or a store
createAuthClient({ refreshUrl: '/r', transport: 'body' });
`,
};

function run(command: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the packed package', function () {
  this.timeout(60_000);

  let work: string;
  let tarball: string;
  let files: string[];

  before(function () {
    mkdirSync(join(root, '.tmp'), { recursive: true });
    work = mkdtempSync(join(root, '.tmp', 'package-test-'));
    execFileSync('npm', ['pack', '--pack-destination', work, '--json'], {
      cwd: root, encoding: 'utf8', timeout: 50_000, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    expect(packed, 'npm pack made one tarball').to.have.lengthOf(1);
    tarball = join(work, packed[0]!);
    files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', timeout: 10_000 })
      .split('\n').filter(Boolean).map((entry) => entry.replace(/^package\//, ''));
    for (const name of [...Object.keys(consumers), 'ts', 'client', 'ts-dom']) {
      const target = join(work, name, 'node_modules', PACKAGE);
      mkdirSync(target, { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], { timeout: 10_000 });
    }
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('tarball', function () {
    it('holds the built entry point and its types', function () {
      expect(files).to.include.members(['package.json', 'dist/index.js', 'dist/index.d.ts']);
    });

    it('holds no sources, tests, sample app or packed leftovers', function () {
      const unwanted = files.filter((file) => /^(lib|test|sample-app|bench|\.ci|\.tmp|node_modules)\//.test(file)
        || /\.tgz$/.test(file) || (/\.ts$/.test(file) && !file.endsWith('.d.ts')));
      expect(unwanted).to.deep.equal([]);
    });

    it('has one built file per lib/ source: nothing stale in dist/', function () {
      const built = files.filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
        .map((file) => file.slice('dist/'.length, -'.js'.length)).sort();
      const sources = (readdirSync(join(root, 'lib'), { recursive: true }) as string[])
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
        .map((file) => file.replace(/\\/g, '/').slice(0, -'.ts'.length)).sort();
      expect(built, 'dist/ has a file lib/ no longer has: rm -rf dist and build again').to.deep.equal(sources);
    });

    it('declares types first in exports["."] and exports["./client"], and every entry it names is packed', function () {
      const manifest = JSON.parse(readFileSync(join(work, 'esm', 'node_modules', PACKAGE, 'package.json'), 'utf8')) as {
        exports: Record<string, Record<string, string> | string>;
        main: string;
        types: string;
      };
      const named = [manifest.main, manifest.types];
      for (const entry of ['.', './client']) {
        const conditions = manifest.exports[entry];
        expect(conditions, entry).to.be.an('object');
        expect(Object.keys(conditions as Record<string, string>)[0], entry).to.equal('types');
        named.push(...Object.values(conditions as Record<string, string>));
      }
      for (const path of named) expect(files, path).to.include(path.replace(/^\.\//, ''));
    });

    it('ships a client that imports nothing but its own relative files (no node: modules, no server code)', function () {
      const client = files.filter((file) => file.startsWith('dist/client/') && file.endsWith('.js'));
      expect(client).to.include('dist/client/index.js');
      const dir = join(work, 'client', 'node_modules', PACKAGE);
      for (const file of client) {
        const code = readFileSync(join(dir, file), 'utf8');
        const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((match) => match[1]!);
        for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).to.match(/^\.\/[\w-]+\.js$/);
        expect(code, file).to.not.match(/\brequire\s*\(|node:|\bprocess\.|\bBuffer\b/);
      }
    });
  });

  for (const [name, consumer] of Object.entries(consumers)) {
    it(`works from ${consumer.label} consumer`, function () {
      const dir = join(work, name);
      writeFileSync(join(dir, 'package.json'), JSON.stringify(consumer.packageJson));
      writeFileSync(join(dir, consumer.file), consumer.code);
      const result = run(process.execPath, [consumer.file], dir);
      expect(result.status, result.stderr).to.equal(0);
      const report = JSON.parse(result.stdout.trim()) as ConsumerReport;
      const sourceExports = Object.keys(source).sort();
      expect(report).to.deep.equal({
        format: name,
        exports: sourceExports,
        tokenType: 'Bearer',
        expiresIn: 900,
        userId: 'user-1',
        sameSession: true,
        claims: { role: 'admin' },
        refreshAsAccess: { name: 'TokenInvalidError', code: 'token_invalid', status: 401, isBase: true },
        middleware: { userId: 'user-1', nextCalledWith: 0 },
        wiring: 'express-token-pair: requireAccessToken(auth) needs the object returned by createTokenAuth()',
      });
    });
  }

  it('works from an ESM consumer of express-token-pair/client', function () {
    const dir = join(work, 'client');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'client-consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'index.mjs'), clientConsumer);
    const result = run(process.execPath, ['index.mjs'], dir);
    expect(result.status, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout.trim())).to.deep.equal({
      status: 200,
      token: 'a2',
      calls: [
        ['https://api.test/me', null, 'Bearer a1', null],
        ['https://api.test/auth/refresh', 'include', null, 'cookie'],
        ['https://api.test/me', null, 'Bearer a2', null],
      ],
      isError: 'function',
    });
  });

  it('typechecks a browser-only consumer of express-token-pair/client (DOM lib, no @types/node)', function () {
    const dir = join(work, 'ts-dom');
    for (const [file, content] of Object.entries(domConsumer)) {
      writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(result.stdout + result.stderr).to.equal('');
    expect(result.status).to.equal(0);
  });

  it('typechecks a TypeScript consumer against the packed .d.ts files', function () {
    const dir = join(work, 'ts');
    for (const [file, content] of Object.entries(typescriptConsumer)) {
      writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(result.stdout + result.stderr).to.equal('');
    expect(result.status).to.equal(0);
  });
});
