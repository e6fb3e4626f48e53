/**
 * DPoP (RFC 9449) proof verification: the framework-free core. Not exported
 * from the package entry yet; the wiring into TokenAuth and the middlewares
 * comes with issue 16's next step.
 */
export { DPOP_ALGORITHMS, type DpopAlgorithm } from './algorithms.js';
export { dpopChallenge, dpopChallengeFor } from './challenge.js';
export { InvalidDpopProofError, UseDpopNonceError, type DpopErrorCode } from './errors.js';
export { normalizeHtu } from './htu.js';
export { DpopKeyCache } from './key-cache.js';
export { accessTokenHash, verifyDpopProof, type DpopExpectation, type VerifiedDpopProof } from './proof.js';
export { DpopReplayCache, type ReplayVerdict } from './replay.js';
export { canonicalJwk, jwkThumbprint } from './thumbprint.js';
export { createDpopVerifier, type DpopRequest, type DpopVerifier, type DpopVerifierOptions } from './verifier.js';
