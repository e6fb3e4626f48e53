/**
 * RFC 7638 JWK thumbprints: base64url(SHA-256) of the JSON of the key's
 * required public members only, in lexicographic order, without spaces. A
 * proof's `jkt` (RFC 9449 §6) is this thumbprint of its header's `jwk`.
 */
import { createHash } from 'node:crypto';

/** The required members of each key type, already in lexicographic order (RFC 7638 §3.2, RFC 8037 §2). */
export const REQUIRED_MEMBERS = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
} as const;

export type KeyType = keyof typeof REQUIRED_MEMBERS;

/**
 * The canonical JSON RFC 7638 §3 hashes: `{"crv":..,"kty":..,"x":..,"y":..}`
 * for EC. Throws a TypeError for another key type or a required member that
 * is not a string (a DPoP key is checked before it gets here).
 */
export function canonicalJwk(jwk: Readonly<Record<string, unknown>>): string {
  const kty = jwk.kty;
  if (kty !== 'EC' && kty !== 'OKP' && kty !== 'RSA') throw new TypeError(`no RFC 7638 members for kty ${String(kty)}`);
  const canonical: Record<string, string> = {};
  for (const name of REQUIRED_MEMBERS[kty]) {
    const value = jwk[name];
    if (typeof value !== 'string') throw new TypeError(`JWK member ${name} must be a string`);
    canonical[name] = value;
  }
  // JSON.stringify keeps insertion order; the members were inserted sorted.
  return JSON.stringify(canonical);
}

/** The RFC 7638 SHA-256 thumbprint of a public JWK, base64url (43 characters). */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJwk(jwk)).digest('base64url');
}
