/**
 * DPoP (RFC 9449) for the core: the `dpop` option parsed once, and the
 * checks the core makes with it. At login and refresh a proof binds (or
 * must match) the session's key, its `jti` checked by the store script; on
 * a guarded request a DPoP-bound access token needs a proof by its key, for
 * this method and URL, with `ath`, its `jti` checked by this instance's
 * replay cache. Framework-free: the HTTP layer hands in a `DpopPresentation`.
 */
import { OptionError, TokenInvalidError } from './errors.js';
import { DPOP_ALGORITHMS, type DpopAlgorithm } from './dpop/algorithms.js';
import { InvalidDpopProofError } from './dpop/errors.js';
import type { VerifiedDpopProof } from './dpop/proof.js';
import { createDpopVerifier, type DpopVerifier } from './dpop/verifier.js';
import { checkKeys, isObject } from './option-checks.js';
import type { ProofUse, SessionStore } from './store-types.js';

/** `off`: DPoP headers are ignored; `optional`: a login with a proof binds; `required`: every login must bind. */
export type DpopMode = 'off' | 'optional' | 'required';

export interface DpopOptions {
  /** See `DpopMode`. */
  mode: DpopMode;
  /** Proof algorithms accepted, sent in `algs` (default all: ES256, EdDSA, RS256, PS256...). */
  algorithms?: readonly DpopAlgorithm[] | undefined;
  /** Seconds a proof's `iat` may be from now, either side (default 60, 1 to 600). */
  iatWindow?: number | undefined;
  /**
   * The origin clients address (`https://api.example.com`), used for `htu`
   * instead of the one the request names (the Host header and, behind a
   * proxy, `trust proxy`). Default: the request's.
   */
  publicUrl?: string | undefined;
  /** Parsed proof keys kept (default 10,000). */
  maxKeys?: number | undefined;
  /** Guarded-route proofs remembered against replay, per instance (default 100,000). */
  maxProofs?: number | undefined;
}

/** What a framework hands the core: the `DPoP` header value(s), the method, the absolute URL as requested. */
export interface DpopPresentation {
  proof: string | readonly string[] | undefined;
  method: string;
  url: string;
}

export interface DpopConfig {
  mode: DpopMode;
  algorithms: readonly DpopAlgorithm[];
  /** Seconds a login or refresh proof's jti is kept by the store: the whole `iat` window, both sides, and the tolerance. */
  proofTtl: number;
  publicUrl: string | undefined;
  /** Login and refresh: no replay cache (the store script checks jti). */
  token: DpopVerifier;
  /** Guarded routes: this instance's replay cache. */
  guard: DpopVerifier;
}

function parsePublicUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new OptionError(
      'dpop.publicUrl must be an http(s) origin such as https://api.example.com (no path or query)',
    );
  }
  return url.origin;
}

/** The `dpop` option, checked: undefined for `off`. `seconds` is the core's clock in Unix seconds. */
export function parseDpop(
  value: unknown,
  store: SessionStore,
  seconds: () => number,
  clockTolerance: number,
): DpopConfig | undefined {
  if (value === undefined || value === 'off') return undefined;
  const options: Record<string, unknown> = typeof value === 'string' ? { mode: value } : isObject(value) ? value : {};
  if (typeof value !== 'string' && !isObject(value)) {
    throw new OptionError("dpop must be 'off', 'optional', 'required' or { mode, ... }");
  }
  checkKeys(options, ['mode', 'algorithms', 'iatWindow', 'publicUrl', 'maxKeys', 'maxProofs'], 'dpop.');
  const { mode } = options;
  if (mode !== 'off' && mode !== 'optional' && mode !== 'required') {
    throw new OptionError(`dpop.mode must be 'off', 'optional' or 'required' (got ${JSON.stringify(mode)})`);
  }
  if (mode === 'off') return undefined;
  if (store.features?.dpop !== true) {
    throw new OptionError('dpop needs a store that keeps DPoP bindings (features.dpop), as both built-in stores do');
  }
  const publicUrl = parsePublicUrl(options.publicUrl);
  const common = {
    algorithms: (options.algorithms as DpopAlgorithm[] | undefined) ?? DPOP_ALGORITHMS,
    iatWindow: options.iatWindow as number | undefined,
    maxKeys: options.maxKeys as number | undefined,
    clock: seconds,
  };
  const token = createDpopVerifier({ ...common, replay: false });
  const guard = createDpopVerifier({ ...common, replay: { maxProofs: options.maxProofs as number | undefined } });
  const window = (options.iatWindow as number | undefined) ?? 60;
  return {
    mode,
    algorithms: token.algorithms,
    proofTtl: 2 * Math.ceil(window) + clockTolerance + 1,
    publicUrl,
    token,
    guard,
  };
}

/** The one proof of a presentation: none, or a refusal for more than one `DPoP` header. */
function oneProof(proof: DpopPresentation['proof']): string | undefined {
  if (proof === undefined) return undefined;
  const values = typeof proof === 'string' ? [proof] : proof;
  // Node joins a repeated unknown header with ", "; a compact JWS has no comma.
  if (values.length > 1 || values.some((v) => v.includes(','))) {
    throw new InvalidDpopProofError('more than one DPoP header');
  }
  return values[0] === '' ? undefined : values[0];
}

/** The URL the proof's `htu` must name: the request's, or its path under `publicUrl`. */
function htuOf(config: DpopConfig, url: string): string {
  if (config.publicUrl === undefined) return url;
  let path: string;
  try {
    const parsed = new URL(url, 'http://x');
    path = parsed.pathname;
  } catch {
    throw new InvalidDpopProofError('DPoP proof htu does not match the request URL');
  }
  return config.publicUrl + path;
}

/**
 * Login and refresh: the verified proof, or undefined when there is none and
 * none is needed. With `required`, no proof is `InvalidDpopProofError`.
 */
export function tokenEndpointProof(
  config: DpopConfig | undefined,
  presentation: DpopPresentation | undefined,
  required: boolean,
): ProofUse | undefined {
  if (config === undefined) return undefined;
  const proof = presentation === undefined ? undefined : oneProof(presentation.proof);
  if (proof === undefined) {
    if (required) throw new InvalidDpopProofError('a DPoP proof is required');
    return undefined;
  }
  const verified: VerifiedDpopProof = config.token.verify(proof, {
    method: presentation!.method,
    url: htuOf(config, presentation!.url),
  });
  return { jkt: verified.jkt, jti: verified.jti, ttl: config.proofTtl };
}

/**
 * A guarded request: a token bound to `jkt` needs a proof by that key for
 * this request and token (`ath`); an unbound one must come without the DPoP
 * scheme, and in `required` mode is refused.
 */
export function checkGuardedProof(
  config: DpopConfig | undefined,
  token: string,
  jkt: string | undefined,
  presentation: DpopPresentation | undefined,
): void {
  if (jkt === undefined) {
    if (presentation !== undefined) throw new TokenInvalidError('access token is not DPoP-bound; send it as Bearer');
    if (config?.mode === 'required') throw new TokenInvalidError('access token must be DPoP-bound');
    return;
  }
  if (presentation === undefined) {
    throw new TokenInvalidError('access token is DPoP-bound; send it as Authorization: DPoP with a DPoP proof');
  }
  if (config === undefined) throw new TokenInvalidError('access token is DPoP-bound and DPoP is off here');
  const proof = oneProof(presentation.proof);
  if (proof === undefined) throw new InvalidDpopProofError('a DPoP proof is required');
  config.guard.verify(proof, {
    method: presentation.method,
    url: htuOf(config, presentation.url),
    accessToken: token,
    jkt,
  });
}
