/**
 * The two DPoP errors (RFC 9449 §7.1, §9): a proof that fails any check, and
 * a proof without the server's current nonce. Both are 401s on a guarded
 * route; the HTTP layer answers them with `WWW-Authenticate: DPoP
 * error="..."` (see `dpopChallenge`), and `use_dpop_nonce` with a fresh
 * `DPoP-Nonce` header. (At a token endpoint RFC 9449 §8 answers 400 with the
 * same `error`: the adapter that serves login and refresh picks the status.)
 */
import { TokenPairError } from '../errors.js';

/** The stable codes of the DPoP errors, as RFC 9449 spells them. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * The `DPoP` proof is missing, malformed, signed badly, or does not match
 * this request (method, URL, time, access token); its message says which
 * check failed, and never repeats the proof. 401.
 */
export class InvalidDpopProofError extends TokenPairError {
  readonly code = 'invalid_dpop_proof';
  readonly status = 401;
}

/**
 * The proof is valid but does not carry the nonce the server requires (none,
 * or not the current one): the client retries with the `DPoP-Nonce` it is
 * sent. 401.
 */
export class UseDpopNonceError extends TokenPairError {
  readonly code = 'use_dpop_nonce';
  readonly status = 401;
}
