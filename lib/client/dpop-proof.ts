/**
 * DPoP proofs (RFC 9449 §4.2), signed with the key of dpop-key.ts: a
 * compact JWS, ES256, whose header carries the public key and whose payload
 * names the request (`htm`, `htu`), the moment (`iat`), a unique `jti`, and,
 * for a request carrying an access token, that token's hash (`ath`).
 */
import type { DpopKey } from './dpop-key.js';
import { base64url, base64urlText, fail, sha256, type PublicJwk } from './dpop-jwk.js';
import { pageBase } from './origins.js';

export interface DpopProofInput {
  /** The request's method; sent upper-case (`htm`). */
  method: string;
  /**
   * The request's URL (`htu`), without its query and fragment. A relative
   * URL is resolved against the page, as fetch would; it must be http(s).
   */
  url: string | URL;
  /** The access token the request carries: its SHA-256 goes in as `ath`. Omit for login and refresh. */
  accessToken?: string | undefined;
  /** The server's last `DPoP-Nonce`, if it asked for one (`use_dpop_nonce`). */
  nonce?: string | undefined;
}

export interface DpopSignerOptions {
  /**
   * The wall clock, in ms since the epoch, for `iat`. Default `Date.now`.
   * Read at each proof. The server refuses an `iat` too far from its own
   * clock (about 60 s either side): a machine clock that far off fails,
   * whatever this says.
   */
  clock?: (() => number) | undefined;
}

export interface DpopSigner {
  /** A new proof for one request: a compact JWS (header.payload.signature), never to be reused. */
  createProof(input: DpopProofInput): Promise<string>;
}

/** A header or method token (RFC 9110). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function proofUrl(url: unknown): string {
  if (typeof url !== 'string' && !(url instanceof URL)) return fail('createProof() needs url: a URL or a string');
  let target: URL;
  try {
    target = new URL(url, pageBase());
  } catch {
    return fail(
      `createProof() url must be an absolute URL, or relative to the page (got ${JSON.stringify(String(url))})`,
    );
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    fail(`createProof() url must be an http(s) URL (got ${JSON.stringify(target.protocol)})`);
  // RFC 9449 §4.2: htu has no query and no fragment. URL has already lower-cased the scheme and host, and
  // dropped a default port, as the server normalises them (§4.3).
  target.search = '';
  target.hash = '';
  return target.href;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(`createProof() ${field} must be a non-empty string`);
  return value;
}

/** 16 random bytes: 128 bits, so a `jti` never repeats. */
function newJti(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * Signs proofs with `key`. The header is built once per key (it only holds
 * the public JWK); each proof then costs a SHA-256 of the access token, if
 * any, and one ECDSA signature. WebCrypto's ECDSA signature is already the
 * raw r||s that JWS wants (64 bytes), not DER.
 */
export function createDpopSigner(key: DpopKey, options: DpopSignerOptions = {}): DpopSigner {
  if (typeof key?.current !== 'function') fail('createDpopSigner(key) needs a key from createDpopKey()');
  if (typeof options !== 'object' || options === null)
    fail('createDpopSigner(key, options): options must be an object');
  for (const name of Object.keys(options)) {
    if (name !== 'clock') fail(`unknown dpop signer option ${name}`);
  }
  const { clock = () => Date.now() } = options;
  if (typeof clock !== 'function') fail('dpop clock must be a function returning ms since the epoch');
  let header: { jkt: string; segment: string } | undefined;

  function headerSegment(jkt: string, jwk: PublicJwk): string {
    if (header?.jkt !== jkt) {
      header = { jkt, segment: base64urlText(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk })) };
    }
    return header.segment;
  }

  return {
    async createProof(input: DpopProofInput): Promise<string> {
      if (typeof input !== 'object' || input === null) fail('createProof() needs { method, url }');
      const { method } = input;
      if (typeof method !== 'string' || !TOKEN.test(method))
        fail('createProof() needs method: an HTTP method such as GET');
      const htu = proofUrl(input.url);
      const accessToken = optionalString(input.accessToken, 'accessToken');
      const nonce = optionalString(input.nonce, 'nonce');
      const now = clock();
      if (typeof now !== 'number' || !Number.isFinite(now)) fail('dpop clock must return ms since the epoch');
      const { keyPair, jwk, jkt } = await key.current();
      const payload = {
        jti: newJti(),
        htm: method.toUpperCase(),
        htu,
        iat: Math.floor(now / 1000),
        ...(accessToken === undefined ? {} : { ath: await sha256(accessToken) }),
        ...(nonce === undefined ? {} : { nonce }),
      };
      const signingInput = `${headerSegment(jkt, jwk)}.${base64urlText(JSON.stringify(payload))}`;
      const signature = await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        keyPair.privateKey,
        new TextEncoder().encode(signingInput),
      );
      return `${signingInput}.${base64url(new Uint8Array(signature))}`;
    },
  };
}
