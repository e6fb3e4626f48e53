import { TokenPairError } from '../errors.js';
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
 * The one error -> answer mapping: a `TokenPairError` becomes
 * `{ error, message }` with its status and `Cache-Control: no-store`, an RFC
 * 6750 `WWW-Authenticate` on 400/401 (no error code when no token was
 * presented) and `Retry-After` on 503. Anything else is no answer of ours:
 * `undefined`, for the framework's own error handling.
 */
export function errorAnswer(error: TokenPairError): HttpAnswer;
export function errorAnswer(error: unknown): HttpAnswer | undefined;
export function errorAnswer(error: unknown): HttpAnswer | undefined {
  if (!(error instanceof TokenPairError)) return undefined;
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
