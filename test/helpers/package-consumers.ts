/**
 * The consumer projects test/package.test.ts writes next to the unpacked
 * tarball: an ESM and a CommonJS script, a TypeScript project, an ESM client
 * user and a browser-only TypeScript project.
 */

export const PACKAGE = 'express-token-pair';

/** What each JavaScript consumer prints. */
export interface ConsumerReport {
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

export const consumers = {
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
export const typescriptConsumer = {
  'package.json': { name: 'ts-consumer', private: true, type: 'module' },
  'tsconfig.json': {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      lib: ['ES2023'],
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
export const clientConsumer = `import { createAuthClient, AuthClientError } from '${PACKAGE}/client';
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
export const domConsumer = {
  'package.json': { name: 'ts-dom-consumer', private: true, type: 'module' },
  'tsconfig.json': {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
      lib: ['ES2022', 'DOM'],
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

/**
 * A third-party store's test file, run with `node --test`: the exported
 * store contract declared with node:test's functions, against the packed
 * MemorySessionStore, and against a broken store (one that ignores the
 * credential check, as a store written before it would) that must fail.
 */
export const storeContractConsumer = `import { describe, it, beforeEach, afterEach } from 'node:test';
import { MemorySessionStore } from '${PACKAGE}';
import { describeStoreContract } from '${PACKAGE}/store-contract';

const test = { describe, it, beforeEach, afterEach };
const broken = process.env.BROKEN === '1';
describeStoreContract(broken ? 'a store that ignores authenticatedAge' : 'MemorySessionStore', () => {
  const store = new MemorySessionStore();
  if (broken) {
    const create = store.create.bind(store);
    store.create = (session, { authenticatedAge, ...options }) => create(session, options);
  }
  return { store, close: () => store.close() };
}, { test });
`;
