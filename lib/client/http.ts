/** Small readers and writers of requests and responses, shared by the client's parts. */
import type { TokenResponse } from './types.js';

/** The 401 codes that mean "this access token will not do": worth one refresh and one retry. */
const REFRESHABLE = new Set(['token_expired', 'token_invalid', 'token_missing', 'token_revoked', 'invalid_token']);

/** An answer's JSON body, read from a clone (the answer stays unread), or `undefined`. */
async function jsonBody(res: Response): Promise<unknown> {
  if (!/[/+]json\b/i.test(res.headers.get('content-type') ?? '')) return undefined;
  try {
    return (await res.clone().json()) as unknown;
  } catch {
    return undefined;
  }
}

function errorField(body: unknown): string | undefined {
  const code = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The JSON `error` of an answer (read from a clone, so the answer stays unread), or `undefined`. */
export async function jsonError(res: Response): Promise<string | undefined> {
  return errorField(await jsonBody(res));
}

/**
 * Whether a request is GraphQL, whose answer can say "unauthenticated" with
 * a 200: a string body with a `"query"` string, or an `Accept` naming
 * `application/graphql-response+json` (as GraphQL clients send).
 */
export function isGraphQLRequest(headers: Headers, body: RequestInit['body'] | undefined): boolean {
  if (/\bapplication\/graphql-response\+json\b/i.test(headers.get('accept') ?? '')) return true;
  return typeof body === 'string' && /"query"\s*:\s*"/.test(body);
}

/**
 * Whether a GraphQL answer's `errors` say the access token will not do: an
 * `extensions.reason` or `extensions.code` among the refreshable codes, or
 * `code: 'UNAUTHENTICATED'` with no reason (Apollo, NestJS). An
 * UNAUTHENTICATED whose reason is another (`refresh_reused`, a wrong
 * password) is no token trouble.
 */
function isGraphQLRejection(body: unknown): boolean {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  if (!Array.isArray(errors)) return false;
  return errors.some((error: unknown) => {
    const extensions =
      typeof error === 'object' && error !== null ? (error as { extensions?: unknown }).extensions : undefined;
    if (typeof extensions !== 'object' || extensions === null) return false;
    const { code, reason } = extensions as { code?: unknown; reason?: unknown };
    if (typeof reason === 'string') return REFRESHABLE.has(reason);
    return typeof code === 'string' && (code === 'UNAUTHENTICATED' || REFRESHABLE.has(code));
  });
}

/**
 * The RFC 6750 reading of `WWW-Authenticate`: its `error` parameter,
 * `token_missing` for a bare `Bearer` challenge, `undefined` for another scheme.
 */
export function challengeError(res: Response): string | undefined {
  const header = res.headers.get('www-authenticate');
  if (header === null || !/^\s*Bearer\b/i.test(header)) return undefined;
  const match = /\berror\s*=\s*"?([\w.-]+)"?/i.exec(header);
  return match ? match[1]! : 'token_missing';
}

/**
 * Whether the answer says the access token is the trouble: a 401 (JSON
 * `error` first, then the challenge), or, for a GraphQL request, an answer
 * of any status whose `errors` say so.
 */
export async function isTokenRejection(res: Response, graphql = false): Promise<boolean> {
  if (res.status !== 401 && !graphql) return false;
  const body = await jsonBody(res);
  if (graphql && isGraphQLRejection(body)) return true;
  if (res.status !== 401) return false;
  const code = errorField(body);
  if (code !== undefined && REFRESHABLE.has(code)) return true;
  const challenge = challengeError(res);
  return challenge !== undefined && REFRESHABLE.has(challenge);
}

/** `Retry-After` in seconds (delta form only), or `undefined`. */
export function retryAfter(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  return value !== null && /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
}

/** A login or refresh answer's pair, or `undefined` if it is not one. */
export function asTokenResponse(body: unknown): TokenResponse | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { accessToken, refreshToken, tokenType, expiresIn } = body as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') return undefined;
  return {
    accessToken,
    refreshToken: typeof refreshToken === 'string' && refreshToken !== '' ? refreshToken : undefined,
    tokenType: typeof tokenType === 'string' ? tokenType : undefined,
    expiresIn: typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn >= 0 ? expiresIn : undefined,
  };
}

/** A body fetch consumes as it sends (a stream), which cannot be sent a second time. */
export function isStreamBody(body: RequestInit['body'] | undefined): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { getReader?: unknown }).getReader === 'function';
}

/**
 * The headers of a request: the caller's `init.headers` if given (as fetch
 * itself does), else the `Request`'s own.
 */
export function requestHeaders(input: string | URL | Request, init: RequestInit | undefined): Headers {
  if (init?.headers !== undefined) return new Headers(init.headers);
  return new Headers(typeof input === 'object' && 'headers' in input ? input.headers : undefined);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}
