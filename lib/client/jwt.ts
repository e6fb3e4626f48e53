/**
 * The claims of an access token, read without checking its signature (the
 * key is the server's): enough to tell whether a token another tab announces
 * belongs to the session this tab holds, and is not older or expired.
 */

/** The claims the client compares; the server's access tokens always carry them. */
export interface AccessClaims {
  sub: string;
  sid: string;
  /** Seconds since the epoch, as the server wrote them. */
  iat: number;
  exp: number;
}

/** Longer than any access token the server issues (a few hundred bytes, plus custom claims). */
const MAX_LENGTH = 16_384;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** RFC 9068's `typ`, with or without the `application/` prefix (RFC 8725). */
const ACCESS_TYP = /^(?:application\/)?at\+jwt$/i;

function segment(text: string): Record<string, unknown> | undefined {
  if (!SEGMENT.test(text)) return undefined;
  try {
    const binary = atob(
      text
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(text.length / 4) * 4, '='),
    );
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: unknown): value is string => typeof value === 'string' && value !== '';
const seconds = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The claims of a JWT access token (`typ` at+jwt, `sub`, `sid`, `iat`, `exp`), or `undefined` for anything else. */
export function accessClaims(token: string): AccessClaims | undefined {
  if (token.length > MAX_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !SEGMENT.test(parts[2]!)) return undefined;
  const header = segment(parts[0]!);
  const payload = segment(parts[1]!);
  if (header === undefined || payload === undefined || typeof header.typ !== 'string' || !ACCESS_TYP.test(header.typ))
    return undefined;
  const { sub, sid, iat, exp } = payload;
  if (!text(sub) || !text(sid) || !seconds(iat) || !seconds(exp) || exp <= iat) return undefined;
  return { sub, sid, iat, exp };
}

/**
 * Whether a token another tab announces may replace the one held: an
 * access token that has not expired (by this machine's clock) and, when a
 * token is held, of the same user (`sub`) and session (`sid`), and issued
 * no earlier. A tab that holds none takes any (a login in another tab); one
 * that holds a token it cannot read takes none.
 */
export function mayAdopt(announced: string, held: string | undefined, nowMs: number): boolean {
  const next = accessClaims(announced);
  if (next === undefined || next.exp * 1000 <= nowMs) return false;
  if (held === undefined) return true;
  const current = accessClaims(held);
  return current !== undefined && next.sub === current.sub && next.sid === current.sid && next.iat >= current.iat;
}
