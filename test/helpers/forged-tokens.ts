/**
 * Tokens built by hand for the adapter tests: signed with any key, algorithm
 * and typ, signed from a raw payload (for what jsonwebtoken refuses to sign),
 * tampered with after signing, or not signed at all.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export type Payload = Record<string, unknown>;

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function payloadOf(token: string): Payload {
  return jwt.decode(token) as Payload;
}

export function sign(
  payload: Payload,
  key: string | KeyObject,
  typ: string,
  algorithm: jwt.Algorithm = 'HS256',
): string {
  return jwt.sign(payload, key, { algorithm, header: { alg: algorithm, typ } });
}

/** An HS256 token signed by hand from a raw payload, for what jsonwebtoken refuses to sign. */
export function signRaw(header: Payload, payload: string, secret: string): string {
  const input = `${base64url(header)}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function signByHand(payload: Payload, secret: string, typ: string): string {
  return signRaw({ alg: 'HS256', typ }, JSON.stringify(payload), secret);
}

/** The same token with its payload changed and the original signature kept. */
export function tamper(token: string, changes: Payload): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
  return [header, base64url({ ...claims, ...changes }), signature].join('.');
}

/** The same token with the last character of its signature changed. */
export function flipLastChar(token: string): string {
  return token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
}

/** An `alg: none` token built by hand: header, payload, empty signature. */
export function unsigned(payload: Payload, typ: string): string {
  return `${base64url({ alg: 'none', typ })}.${base64url(payload)}.`;
}

export function without(payload: Payload, ...names: string[]): Payload {
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !names.includes(name)));
}

export const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
