/**
 * Key material made fresh for each run, and the access tokens every
 * contender is given: one token per algorithm, issued by this package, so
 * that all contenders verify the very same string.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createTokenAuth, MemorySessionStore, type SessionStore, type TokenAuth } from '../lib/index.js';
import type { Algorithm } from './options.js';

/** A random HMAC secret, 43 characters (32 bytes of entropy, base64url). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What a guard server needs to verify tokens of one algorithm. */
export interface AccessKeys {
  algorithm: Algorithm;
  /** HS256: the shared secret string. ES256/RS256: the private key, PKCS#8 PEM. */
  signingKey: string;
  /** HS256: the same secret string. ES256/RS256: the public key, SPKI PEM. */
  verifyingKey: string;
}

/** A new key pair as PEM: P-256 for ES256, RSA 2048 for RS256. */
export function pemKeyPair(algorithm: 'ES256' | 'RS256'): { privateKey: string; publicKey: string } {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  return algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding })
    : generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding });
}

export function accessKeys(algorithm: Algorithm): AccessKeys {
  if (algorithm === 'HS256') {
    const secret = randomSecret();
    return { algorithm, signingKey: secret, verifyingKey: secret };
  }
  const pair = pemKeyPair(algorithm);
  return { algorithm, signingKey: pair.privateKey, verifyingKey: pair.publicKey };
}

/**
 * A core over a memory store (or `store`), signing with `keys`: the one
 * requireAccessToken's server builds too. `cacheSize` undefined keeps the
 * package's default.
 */
export function tokenAuthFor(
  keys: AccessKeys,
  refreshSecret: string,
  cacheSize?: number,
  store?: SessionStore,
): TokenAuth {
  const cache = cacheSize === undefined ? {} : { cacheSize };
  return createTokenAuth({
    accessToken:
      keys.algorithm === 'HS256'
        ? { secret: keys.signingKey, ttl: '1h', ...cache }
        : { privateKey: keys.signingKey, algorithm: keys.algorithm, ttl: '1h', ...cache },
    refreshToken: { secret: refreshSecret },
    store: store ?? new MemorySessionStore(),
  });
}

/** `count` access tokens of as many users (typ at+jwt, a `role` claim), valid for an hour. */
export async function issueAccessTokens(auth: TokenAuth, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) =>
      auth.issue({ userId: `bench-user-${String(start + i).padStart(6, '0')}`, claims: { role: 'member' } }),
    );
    tokens.push(...(await Promise.all(batch)).map((pair) => pair.accessToken));
  }
  return tokens;
}
