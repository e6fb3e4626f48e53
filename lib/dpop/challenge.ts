/**
 * The `WWW-Authenticate: DPoP ...` challenge (RFC 9449 §7.1), built without
 * any framework: the HTTP layer sets the header to this string.
 */
import { InvalidDpopProofError, UseDpopNonceError } from './errors.js';

/** Drops what cannot sit in a quoted-string as written (quotes, backslashes, control and non-ASCII characters). */
function quoted(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;
}

/**
 * `DPoP error="...", error_description="...", algs="ES256 EdDSA"`, or with no
 * `error` (no credentials were presented) just `DPoP algs="..."`.
 * `algorithms` are the proof algorithms accepted, space-separated as RFC
 * 9449 §7.1 says; the description is cut to what a quoted-string can hold.
 */
export function dpopChallenge(options: {
  error?: string;
  description?: string;
  algorithms: readonly string[];
}): string {
  const parts: string[] = [];
  if (options.error !== undefined) parts.push(`error=${quoted(options.error)}`);
  if (options.description !== undefined) parts.push(`error_description=${quoted(options.description)}`);
  parts.push(`algs=${quoted(options.algorithms.join(' '))}`);
  return `DPoP ${parts.join(', ')}`;
}

/**
 * The challenge for a DPoP error: `invalid_dpop_proof` or `use_dpop_nonce`
 * with the error's message as the description. Undefined for any other
 * error (the caller answers it as it does today).
 */
export function dpopChallengeFor(error: unknown, algorithms: readonly string[]): string | undefined {
  if (!(error instanceof InvalidDpopProofError) && !(error instanceof UseDpopNonceError)) return undefined;
  return dpopChallenge({ error: error.code, description: error.message, algorithms });
}
