/**
 * HTTPS_REQUIRED, TLS_CERT_FILE and TLS_KEY_FILE (issue 18, item 15): whether
 * the app refuses requests that did not arrive over TLS (require-https.ts),
 * and whether it serves TLS itself (http-server.ts). Part of config.ts.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config-error.js';
import type { TrustProxy } from './trust-proxy.js';

/** The PEM contents of TLS_CERT_FILE and TLS_KEY_FILE, read once at start-up. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface HttpsSettings {
  /**
   * HTTPS_REQUIRED: refuse requests that did not arrive over TLS (`req.secure`,
   * which follows TRUST_PROXY). Default on when NODE_ENV=production, off otherwise.
   */
  httpsRequired: boolean;
  /** TLS_CERT_FILE and TLS_KEY_FILE: the app serves HTTPS itself. Undefined (plain HTTP) when unset. */
  tls: TlsFiles | undefined;
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function httpsRequired(env: Env, production: boolean): boolean {
  const raw = read(env, 'HTTPS_REQUIRED');
  if (raw === undefined) return production;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`HTTPS_REQUIRED must be true or false (got ${JSON.stringify(raw)})`);
}

function readPem(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${name} cannot be read (${code}): ${JSON.stringify(path)}`);
  }
}

function tlsFiles(env: Env): TlsFiles | undefined {
  const certPath = read(env, 'TLS_CERT_FILE');
  const keyPath = read(env, 'TLS_KEY_FILE');
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined)
    throw new ConfigError('TLS_CERT_FILE must be set too: TLS_KEY_FILE is the key of the certificate in TLS_CERT_FILE');
  if (keyPath === undefined)
    throw new ConfigError('TLS_KEY_FILE must be set too: TLS_CERT_FILE needs the private key of its certificate');
  const files = { cert: readPem('TLS_CERT_FILE', certPath), key: readPem('TLS_KEY_FILE', keyPath) };
  try {
    // What the server would do with them at start: a bad PEM or a key of another certificate fails here.
    createSecureContext(files);
  } catch (error) {
    // OpenSSL's reason ("key values mismatch", "no start line") quotes neither file.
    throw new ConfigError(
      `TLS_CERT_FILE and TLS_KEY_FILE must be a PEM certificate and its private key (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return files;
}

/** The HTTPS settings; pushes onto `warnings` when production runs without the check. */
export function httpsSettings(env: Env, production: boolean, warnings: string[]): HttpsSettings {
  const required = httpsRequired(env, production);
  const tls = tlsFiles(env);
  if (production && !required && tls === undefined) {
    warnings.push(
      'HTTPS_REQUIRED=false: plain HTTP is served in production, where passwords and tokens can be read by anyone on the network. ' +
        'Use it only for tests on a local machine.',
    );
  }
  return { httpsRequired: required, tls };
}

/**
 * A start-up warning for a setting that refuses everything: HTTPS required,
 * but the app serves no TLS and trusts no proxy to say a request came over
 * TLS, so no request can ever count as secure. Undefined when all is well.
 */
export function httpsUnreachable(settings: HttpsSettings & { trustProxy: TrustProxy }): string | undefined {
  if (!settings.httpsRequired || settings.tls !== undefined || settings.trustProxy !== false) return undefined;
  return (
    'HTTPS is required, but the app serves no TLS (TLS_CERT_FILE, TLS_KEY_FILE) and trusts no TLS-terminating proxy (TRUST_PROXY): ' +
    'every request but GET /health will be refused with 403'
  );
}
