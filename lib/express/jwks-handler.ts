import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { assertAuth } from '../http/wiring.js';

/**
 * Five minutes fresh, then one more served while a cache refetches: a
 * verifier may use a JWK Set up to 6 minutes old, which is why a new key
 * must be in the set (verify-only) that long before it signs.
 */
export const JWKS_CACHE_CONTROL = 'public, max-age=300, stale-while-revalidate=60';

/**
 * `GET /.well-known/jwks.json` -> 200 `{ keys: [...] }`: the public half of
 * each access key (`auth.jwks()`), with `kid`, `alg` and `use: 'sig'`, so
 * other services can verify access tokens (e.g. jose's
 * `createRemoteJWKSet`). Never a secret, a private member or a refresh key.
 * Answers with `Cache-Control: public, max-age=300,
 * stale-while-revalidate=60` and a strong `ETag` (304 to a matching
 * `If-None-Match`). The keys are read once, here: they cannot change
 * without a new `createTokenAuth`. Caveat: HMAC access keys have no public
 * half, so with them this throws `OptionError` at wiring time rather than
 * serve an empty set.
 */
export function jwksHandler(auth: TokenAuth): RequestHandler {
  assertAuth(auth, 'jwksHandler');
  const set = auth.jwks();
  if (set.keys.length === 0) {
    throw new OptionError(
      'jwksHandler(auth) publishes public keys, and the access tokens are signed with HMAC secrets, ' +
        'which must never be published: sign them with accessToken.privateKey or keys of { kid, privateKey }',
    );
  }
  const body = JSON.stringify(set);
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  return (_req, res) => {
    // Express answers 304 itself when If-None-Match matches this ETag (res.send checks req.fresh).
    res
      .status(200)
      .set({ 'Content-Type': 'application/json', 'Cache-Control': JWKS_CACHE_CONTROL, ETag: etag })
      .send(body);
  };
}
