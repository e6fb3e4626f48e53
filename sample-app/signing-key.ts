/**
 * ACCESS_TOKEN_PRIVATE_KEY and ACCESS_TOKEN_KID: an asymmetric key that signs
 * the access tokens instead of ACCESS_TOKEN_SECRET, so that other services
 * can verify them with the public half, which the app serves at
 * GET /.well-known/jwks.json. The algorithm follows from the key: ES256,
 * ES384 or ES512 for an EC key on P-256, P-384 or P-521, RS256 for RSA, PS256
 * (or PS384/PS512, by its hash) for RSA-PSS. Messages never echo the key.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { jwkThumbprint, type AsymmetricAlgorithm } from '../lib/index.js';
import { ConfigError } from './config-error.js';

export interface SigningKey {
  privateKey: KeyObject;
  /** ACCESS_TOKEN_KID, or the key's RFC 7638 thumbprint: stable across restarts, and public. */
  kid: string;
  algorithm: AsymmetricAlgorithm;
}

const KEY_HINT = 'generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256';
const CURVES: Record<string, AsymmetricAlgorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const PSS: Record<string, AsymmetricAlgorithm> = { sha256: 'PS256', sha384: 'PS384', sha512: 'PS512' };

function algorithmOf(key: KeyObject): AsymmetricAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const algorithm = CURVES[details.namedCurve ?? ''];
      if (algorithm === undefined)
        throw new ConfigError(
          `ACCESS_TOKEN_PRIVATE_KEY must be on curve P-256, P-384 or P-521 (got ${details.namedCurve ?? 'another curve'})`,
        );
      return algorithm;
    }
    case 'rsa':
    case 'rsa-pss':
      if ((details.modulusLength ?? 0) < 2048) {
        throw new ConfigError(
          `ACCESS_TOKEN_PRIVATE_KEY must be an RSA key of at least 2048 bits (got ${details.modulusLength ?? 0})`,
        );
      }
      return key.asymmetricKeyType === 'rsa' ? 'RS256' : (PSS[details.hashAlgorithm ?? 'sha256'] ?? 'PS256');
    default:
      throw new ConfigError(
        `ACCESS_TOKEN_PRIVATE_KEY must be an EC (P-256, P-384, P-521) or RSA private key (got ${key.asymmetricKeyType ?? 'another kind of'} key)`,
      );
  }
}

/**
 * Reads the PEM (real newlines, or `\n` as .env files and container
 * settings often spell them) and the kid. Throws `ConfigError` naming the
 * variable.
 */
export function readSigningKey(pem: string, kid: string | undefined): SigningKey {
  const text = pem.replace(/\\n/g, '\n');
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw new ConfigError(
      'ACCESS_TOKEN_PRIVATE_KEY holds a public key; it needs the private key (the app publishes the public half itself)',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch {
    throw new ConfigError(
      `ACCESS_TOKEN_PRIVATE_KEY must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); ${KEY_HINT}`,
    );
  }
  const algorithm = algorithmOf(privateKey);
  if (kid !== undefined && !/^[\x21-\x7e]{1,64}$/.test(kid)) {
    throw new ConfigError(
      `ACCESS_TOKEN_KID must be 1 to 64 printable ASCII characters, no spaces (got ${JSON.stringify(kid.slice(0, 80))})`,
    );
  }
  return { privateKey, algorithm, kid: kid ?? jwkThumbprint(privateKey) };
}
