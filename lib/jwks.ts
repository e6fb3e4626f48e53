/**
 * The public half of the access keys as a JWK Set (RFC 7517), so other
 * services can verify access tokens without any secret. Framework-free:
 * `jwksHandler` (lib/express) serves it.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyConfig } from './keys.js';
import type { AsymmetricAlgorithm } from './types.js';

/** One public signing key: its public parameters only (`crv`/`x`/`y` or `n`/`e`), never a private one. */
export interface PublicJwk {
  kty: 'EC' | 'RSA';
  kid: string;
  alg: AsymmetricAlgorithm;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export interface JwkSet {
  keys: PublicJwk[];
}

/** The public members of each key type (RFC 7518 §6); nothing else is ever copied. */
const PUBLIC_MEMBERS = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'] } as const;
/** Private members of any JWK type (RFC 7518 §6): none may appear in a published key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Start and end of the contents of the DER element at `at`. */
function element(der: Buffer, at: number): { body: number; end: number } {
  let length = der[at + 1]!;
  let body = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[body + i]!;
    body += bytes;
  }
  return { body, end: body + length };
}

/**
 * The JWK members of a public key. Node cannot export an RSA-PSS key as a
 * JWK, but its modulus and exponent are those of a plain RSA key: the
 * RSAPublicKey inside its SubjectPublicKeyInfo (SEQUENCE { algorithm,
 * BIT STRING }) is read as one.
 */
function jwkOf(publicKey: KeyObject): Record<string, unknown> {
  if (publicKey.asymmetricKeyType !== 'rsa-pss') return publicKey.export({ format: 'jwk' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const outer = element(spki, 0);
  const bits = element(spki, element(spki, outer.body).end);
  // The BIT STRING's first byte counts unused bits (0 here); the RSAPublicKey follows.
  const pkcs1 = spki.subarray(bits.body + 1, bits.end);
  return createPublicKey({ key: pkcs1, format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
}

/** The public JWK of `key` (or of a private key's public half), with `kid`, `alg` and `use: 'sig'`. */
function publicJwk(key: KeyObject, kid: string, alg: AsymmetricAlgorithm): PublicJwk {
  const full = jwkOf(key.type === 'private' ? createPublicKey(key) : key);
  const kty = full.kty === 'EC' ? 'EC' : 'RSA';
  const jwk: PublicJwk = { kty, kid, alg, use: 'sig' };
  for (const name of PUBLIC_MEMBERS[kty]) jwk[name] = full[name] as string;
  // Belt and braces: copied by name above, so this cannot happen; if it ever did, publish nothing.
  if (PRIVATE_MEMBERS.some((name) => name in jwk) || typeof jwk[PUBLIC_MEMBERS[kty][0]] !== 'string') {
    throw new Error('express-token-pair: refusing to publish a key that is not a public EC or RSA key');
  }
  return jwk;
}

/**
 * The RFC 7638 thumbprint of a public key (or of a private key's public
 * half): SHA-256 over its required public members, base64url, 43
 * characters. A stable `kid` derived from the key alone, and safe to publish.
 */
export function jwkThumbprint(key: KeyObject): string {
  const full = jwkOf(key.type === 'private' ? createPublicKey(key) : key);
  const required =
    full.kty === 'EC' ? { crv: full.crv, kty: 'EC', x: full.x, y: full.y } : { e: full.e, kty: full.kty, n: full.n };
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

/**
 * The JWK Set of the access keys: each asymmetric key's public half, in ring
 * order, with its `kid` (the single `privateKey`'s thumbprint, though its
 * tokens carry no `kid`). Empty with HMAC access keys, which must never be
 * published; refresh keys are never included (HMAC, and for this server only).
 */
export function publicJwks(access: KeyConfig): JwkSet {
  if (access.hmac !== undefined) return { keys: [] };
  const alg = access.algorithm as AsymmetricAlgorithm;
  return { keys: access.keys.map((key) => publicJwk(key.verifyKey, key.kid ?? jwkThumbprint(key.verifyKey), alg)) };
}
