/**
 * Requests a guard must refuse, sent to every guarded contender before it is
 * measured: a fast guard that lets these through is not a result. Each is a
 * token forged or bent from the valid one; the expected answer is 401.
 */
import { createHmac, createSign } from 'node:crypto';
import { pemKeyPair, randomSecret, type AccessKeys } from './keys.js';

export interface Probe {
  name: string;
  /** The Authorization header to send; undefined sends none. */
  authorization: string | undefined;
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function parts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
  };
}

/** Signs `header.payload` with an algorithm named in the header: HS* with `key` as HMAC key, else a private PEM. */
function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>, key: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = String(header.alg);
  const hash = `sha${alg.slice(2)}`;
  let signature: Buffer;
  if (alg.startsWith('HS')) {
    signature = createHmac(hash, key).update(input).digest();
  } else {
    // ES256 signatures in a JWS are r||s (IEEE P1363), not DER.
    signature = createSign(hash).update(input).sign({ key, dsaEncoding: 'ieee-p1363' });
  }
  return `${input}.${signature.toString('base64url')}`;
}

function otherSigningKey(keys: AccessKeys): string {
  return keys.algorithm === 'HS256' ? randomSecret() : pemKeyPair(keys.algorithm).privateKey;
}

/** The refusals expected of a guard for `valid`, a genuine token signed with `keys`. */
export function probes(valid: string, keys: AccessKeys): Probe[] {
  const { header, payload } = parts(valid);
  const now = Math.floor(Date.now() / 1000);
  const bearer = (token: string): string => `Bearer ${token}`;
  const [h = '', , s = ''] = valid.split('.');
  const list: Probe[] = [
    { name: 'no token', authorization: undefined },
    {
      name: 'payload changed, signature kept',
      authorization: bearer(`${h}.${b64({ ...payload, sub: 'admin' })}.${s}`),
    },
    {
      name: 'alg none, no signature',
      authorization: bearer(`${b64({ alg: 'none', typ: header.typ })}.${b64(payload)}.`),
    },
    { name: 'signed with another key', authorization: bearer(signRaw(header, payload, otherSigningKey(keys))) },
    {
      name: 'expired (exp 60 s ago)',
      authorization: bearer(signRaw(header, { ...payload, iat: now - 3600, exp: now - 60 }, keys.signingKey)),
    },
    {
      name: "typ rt+jwt (a refresh token's type)",
      authorization: bearer(signRaw({ ...header, typ: 'rt+jwt' }, payload, keys.signingKey)),
    },
  ];
  if (keys.algorithm === 'HS256') {
    list.push({
      name: 'HS512 with the same secret (algorithm not pinned)',
      authorization: bearer(signRaw({ ...header, alg: 'HS512' }, payload, keys.signingKey)),
    });
  } else {
    list.push({
      name: 'HS256 keyed with the public key (algorithm confusion)',
      authorization: bearer(signRaw({ ...header, alg: 'HS256' }, payload, keys.verifyingKey)),
    });
  }
  return list;
}

export interface ProbeResult {
  name: string;
  status: number;
  refused: boolean;
}

/** Sends every probe to `url`; refused means 401. */
export async function runProbes(url: string, list: readonly Probe[]): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const probe of list) {
    const response = await fetch(url, {
      headers: probe.authorization === undefined ? {} : { authorization: probe.authorization },
    });
    await response.arrayBuffer();
    results.push({ name: probe.name, status: response.status, refused: response.status === 401 });
  }
  return results;
}
