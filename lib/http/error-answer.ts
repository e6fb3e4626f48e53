import { TokenPairError } from '../errors.js';
import { dpopChallenge } from '../dpop/challenge.js';
import { InvalidDpopProofError, UseDpopNonceError } from '../dpop/errors.js';
import type { HttpAnswer } from './types.js';

/**
 * Seconds a client is told to wait after a 503. Short on purpose: a refresh
 * that timed out may still have rotated in Redis, and its retry must arrive
 * within the reuse grace window (default 5 s; store timeout 1 s) to get the
 * same successor instead of counting as reuse.
 */
export const RETRY_AFTER = 1;

function quote(text: string): string {
  return text.replace(/["\\]/g, '');
}

/**
 * Where DPoP is on: the proof algorithms accepted (`algs`), and whether the
 * route is a token endpoint (login, refresh), where a bad proof is a 400
 * (RFC 9449 §5) rather than a guarded route's 401 with a DPoP challenge.
 */
export interface DpopAnswering {
  algorithms: readonly string[];
  tokenEndpoint?: boolean | undefined;
}

/**
 * The one error -> answer mapping: a `TokenPairError` becomes
 * `{ error, message }` with its status and `Cache-Control: no-store`, an RFC
 * 6750 `WWW-Authenticate` on 400/401 (no error code when no token was
 * presented) and `Retry-After` on 503. Anything else is no answer of ours:
 * `undefined`, for the framework's own error handling.
 */
export function errorAnswer(error: TokenPairError, dpop?: DpopAnswering): HttpAnswer;
export function errorAnswer(error: unknown, dpop?: DpopAnswering): HttpAnswer | undefined;
export function errorAnswer(error: unknown, dpop?: DpopAnswering): HttpAnswer | undefined {
  if (!(error instanceof TokenPairError)) return undefined;
  const dpopError = error instanceof InvalidDpopProofError || error instanceof UseDpopNonceError;
  if (dpopError || (dpop !== undefined && dpop.algorithms.length > 0 && !dpop.tokenEndpoint)) {
    return dpopErrorAnswer(error, dpop, dpopError);
  }
  return plainAnswer(error);
}

/** The RFC 6750 answer (see `errorAnswer`). */
function plainAnswer(error: TokenPairError): HttpAnswer {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (error.code === 'token_missing') {
    headers['WWW-Authenticate'] = 'Bearer';
  } else if (error.status === 401 || error.status === 400) {
    const code = error.status === 400 ? 'invalid_request' : 'invalid_token';
    headers['WWW-Authenticate'] = `Bearer error="${code}", error_description="${quote(error.message)}"`;
  } else if (error.status === 503) {
    headers['Retry-After'] = String(RETRY_AFTER);
  }
  return { status: error.status, headers, cookies: [], body: { error: error.code, message: error.message } };
}

/**
 * A DPoP error, or any error of a guarded route where DPoP is on: a token
 * endpoint answers a DPoP error 400 (RFC 9449 §5); a guarded route answers
 * 401 with the DPoP challenge (its `error` for a DPoP error, `invalid_token`
 * for another refused token), after the Bearer one unless the error is the
 * proof's.
 */
function dpopErrorAnswer(error: TokenPairError, dpop: DpopAnswering | undefined, dpopError: boolean): HttpAnswer {
  const body = { error: error.code, message: error.message };
  if (dpopError && (dpop === undefined || dpop.tokenEndpoint)) {
    return { status: 400, headers: { 'Cache-Control': 'no-store' }, cookies: [], body };
  }
  if (!dpopError && error.status !== 401) return plainAnswer(error);
  const plain: { headers: Readonly<Record<string, string>> } = dpopError
    ? { headers: { 'Cache-Control': 'no-store' } }
    : plainAnswer(error);
  const algorithms = dpop?.algorithms ?? [];
  const challenge = dpopError
    ? dpopChallenge({ error: error.code, description: error.message, algorithms })
    : dpopChallenge({
        ...(error.code === 'token_missing' ? {} : { error: 'invalid_token', description: error.message }),
        algorithms,
      });
  const bearer = dpopError ? undefined : plain.headers['WWW-Authenticate'];
  return {
    status: 401,
    headers: { ...plain.headers, 'WWW-Authenticate': bearer === undefined ? challenge : `${bearer}, ${challenge}` },
    cookies: [],
    body,
  };
}
