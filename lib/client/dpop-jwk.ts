/**
 * The small pieces DPoP (RFC 9449) needs on the client: base64url, the
 * public JWK of a P-256 key (RFC 7517, public members only) and its RFC 7638
 * thumbprint. WebCrypto only: the same in browsers and in Node 20+.
 */

/** A WebCrypto key, typed so that the client compiles with DOM types (browsers) and with Node's alike. */
export type WebCryptoKey = Parameters<typeof crypto.subtle.sign>[1];

export interface WebCryptoKeyPair {
  publicKey: WebCryptoKey;
  privateKey: WebCryptoKey;
}

/** The public JWK of a P-256 key, as a DPoP proof's header carries it: these four members, nothing else. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export function fail(message: string): never {
  throw new TypeError(`express-token-pair/client: ${message}`);
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

const encoder = new TextEncoder();

/** base64url of the UTF-8 of `text`. */
export function base64urlText(text: string): string {
  return base64url(encoder.encode(text));
}

/** base64url(SHA-256(UTF-8 of `text`)): a proof's `ath`, a JWK's thumbprint. */
export async function sha256(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))));
}

/** A P-256 coordinate: 32 bytes, so 43 base64url characters. */
const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The public JWK of `publicKey`, its public members only. (WebCrypto's JWK
 * also has `key_ops` and `ext`; RFC 9449 §4.2 wants the header's `jwk` to
 * hold the public key and nothing private, and a bare one is what servers
 * compare.) Public keys are always exportable, even in a non-extractable pair.
 */
export async function publicJwkOf(publicKey: WebCryptoKey): Promise<PublicJwk> {
  const jwk = (await crypto.subtle.exportKey('jwk', publicKey)) as {
    kty?: unknown;
    crv?: unknown;
    x?: unknown;
    y?: unknown;
  };
  if (
    jwk.kty !== 'EC' ||
    jwk.crv !== 'P-256' ||
    typeof jwk.x !== 'string' ||
    typeof jwk.y !== 'string' ||
    !COORDINATE.test(jwk.x) ||
    !COORDINATE.test(jwk.y)
  ) {
    return fail('the DPoP key is not a P-256 public key');
  }
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/**
 * The RFC 7638 thumbprint of a P-256 JWK (`jkt`, what the server binds the
 * session to): base64url(SHA-256) of its required members in lexicographic
 * order, no spaces.
 */
export function thumbprintOf(jwk: PublicJwk): Promise<string> {
  return sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
}
