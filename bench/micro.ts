/**
 * In-process cost of one access-token verification, without HTTP: where a
 * guard's time goes. Compares this package's core with jsonwebtoken called
 * the way express-jwt and passport-jwt call it (the key as a string, turned
 * into a key object on every call) and with a key object built once.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { createTokenAuth, MemorySessionStore, requireAccessToken, type TokenAuth } from '../lib/index.js';
import { randomSecret, tokenAuthFor, type AccessKeys } from './keys.js';

export interface VerifyCost {
  algorithm: string;
  path: string;
  /** Microseconds per verification. */
  microseconds: number;
}

/** Microseconds per call of `fn`, after a warm-up, over about `ms` milliseconds. */
function timePerCall(fn: () => void, ms: number): number {
  const warmUntil = performance.now() + ms / 4;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  const until = start + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
  }
  return ((performance.now() - start) * 1000) / calls;
}

/** Revoked sessions in the view of the checkRevocation path. */
const REVOKED = 1000;

/** A core (memory store) following its revocation record, with `REVOKED` revoked sessions in its view. */
async function revokingAuth(keys: AccessKeys, refreshSecret: string): Promise<TokenAuth> {
  const auth = tokenAuthFor(keys, refreshSecret);
  await auth.watchRevocations();
  await Promise.all(
    Array.from({ length: REVOKED }, async (_, i) => {
      const pair = await auth.issue({ userId: `revoked-${i}` });
      await auth.revoke(pair.refreshToken);
    }),
  );
  return auth;
}

/**
 * HS256 only: a core with a 3-key ring and its cache off, and a token
 * signed by the ring's last key (so the lookup by `kid` cannot be a lucky
 * first try): the HMAC fast path with a ring, against a single secret's.
 */
async function ringCost(keys: AccessKeys, refreshSecret: string): Promise<{ auth: TokenAuth; token: string }> {
  const ring = [
    { kid: 'k1', secret: randomSecret() },
    { kid: 'k2', secret: randomSecret() },
    { kid: 'k3', secret: keys.signingKey },
  ];
  const core = (order: typeof ring, cacheSize: number): TokenAuth =>
    createTokenAuth({
      accessToken: { keys: order, ttl: '1h', cacheSize },
      refreshToken: { secret: refreshSecret },
      store: new MemorySessionStore(),
    });
  const { accessToken } = await core([ring[2]!, ring[0]!, ring[1]!], 0).issue({ userId: 'ring-user' });
  return { auth: core(ring, 0), token: accessToken };
}

/**
 * `tokens[0]` is verified over and over (what a cache serves); with more
 * tokens, the core also verifies a different one on each call, in turn.
 */
export async function verifyCosts(
  auth: TokenAuth,
  keys: AccessKeys,
  refreshSecret: string,
  tokens: readonly string[],
  ms: number,
): Promise<VerifyCost[]> {
  const token = tokens[0]!;
  const uncached = tokenAuthFor(keys, refreshSecret, 0);
  const algorithms: jwt.Algorithm[] = [keys.algorithm];
  const keyObject: KeyObject =
    keys.algorithm === 'HS256' ? createSecretKey(Buffer.from(keys.verifyingKey)) : createPublicKey(keys.verifyingKey);
  const cost = (path: string, fn: () => void): VerifyCost => {
    try {
      fn(); // fails here, not in the timing loop, if the path cannot verify this token
    } catch (error) {
      throw new Error(`bench: ${path} did not accept the token`, { cause: error });
    }
    return { algorithm: keys.algorithm, path, microseconds: timePerCall(fn, ms) };
  };
  // The middleware as Express calls it, minus Express: header parsing, verification, req.auth.
  const middleware = requireAccessToken(auth);
  const revoking = await revokingAuth(keys, refreshSecret);
  const checked = requireAccessToken(revoking, { checkRevocation: true });
  const request = { headers: { authorization: `Bearer ${token}` } } as unknown as Request;
  const response = {} as unknown as Response; // an error answer would throw here: the token must pass
  const next: NextFunction = () => undefined;
  let turn = 0;
  const ring = keys.algorithm === 'HS256' ? await ringCost(keys, refreshSecret) : undefined;
  const withRing = ring
    ? [
        cost('requireAccessToken core, cache off, 3-key ring (accessToken.keys; token of the last key)', () => {
          ring.auth.verifyAccessToken(ring.token);
        }),
      ]
    : [];
  const distinct =
    tokens.length > 1
      ? [
          cost(`requireAccessToken core, a different token each call (${tokens.length} in turn)`, () => {
            auth.verifyAccessToken(tokens[turn++ % tokens.length]!);
          }),
        ]
      : [];
  return [
    cost('requireAccessToken middleware, same token (header, verify, req.auth)', () => {
      middleware(request, response, next);
    }),
    cost(`requireAccessToken middleware + checkRevocation, same token (${REVOKED} revocations in view)`, () => {
      checked(request, response, next);
    }),
    cost('requireAccessToken core, same token (auth.verifyAccessToken)', () => {
      auth.verifyAccessToken(token);
    }),
    ...distinct,
    cost('requireAccessToken core, cache off (accessToken.cacheSize 0)', () => {
      uncached.verifyAccessToken(token);
    }),
    ...withRing,
    cost('jsonwebtoken.verify, key as string (express-jwt, passport-jwt)', () => {
      jwt.verify(token, keys.verifyingKey, { algorithms });
    }),
    cost('jsonwebtoken.verify, KeyObject built once', () => {
      jwt.verify(token, keyObject, { algorithms });
    }),
  ];
}
