import { OptionError } from '../errors.js';

/** The refresh cookie's attributes; each `undefined` means its default. */
export interface RefreshCookieOptions {
  /**
   * Default `'__Host-etp_refresh'` (`'etp_refresh'` with `secure: false`:
   * browsers drop prefixed names without Secure). Only a `__Host-` cookie
   * (Path=/, Secure, no Domain; the prefix matched in any case) cannot be
   * shadowed by a cookie of the same name that a sibling subdomain sets on
   * the parent domain. Any other name can: the sibling can then lock the
   * user out (a request with the name twice is refused, 400
   * `cookie_ambiguous`) or, while the user has no cookie of their own, plant
   * its own session. A `__Host-` name with a `path` other than `'/'` or with
   * a `domain` is refused.
   */
  name?: string | undefined;
  /**
   * Default `'/'` for a `__Host-` name (the prefix requires it), else
   * `'/auth'`. With `'/'` the cookie goes with every request to the host,
   * not only to refresh and logout: any route can read it, so logs must
   * redact the Cookie header.
   */
  path?: string | undefined;
  /**
   * Default none: this host only. Setting it shares the cookie with
   * subdomains, needs a name that is not `__Host-`, and makes the cookie
   * shadowable (see `name`).
   */
  domain?: string | undefined;
  /** Default `'strict'`. `'none'` (an app on another site) needs `secure`. */
  sameSite?: 'strict' | 'lax' | 'none' | undefined;
  /**
   * Default `true`. Browsers treat `http://localhost` as secure, so Secure
   * cookies work there too; `false` is refused unless every allowed origin is
   * `http://localhost` or `http://127.0.0.1`.
   */
  secure?: boolean | undefined;
}

export interface CookieTransportOptions {
  /**
   * Required: the browser origins allowed to use cookie mode, exactly as
   * browsers send `Origin` (`https://app.example.com`,
   * `http://localhost:3000`; no path, no trailing slash). `https` only, but
   * for `localhost` and `127.0.0.1`.
   */
  allowedOrigins: readonly string[];
  cookie?: RefreshCookieOptions | undefined;
  /**
   * Default `'x-token-transport'`: the request header whose value `cookie`
   * selects cookie mode. Browsers send a custom header cross-site only after
   * a CORS preflight, so it is also the CSRF defence's required header.
   */
  header?: string | undefined;
}

/** What `cookieTransport()` returns: the parsed, frozen configuration, to pass to the handlers. */
export interface CookieTransport {
  readonly allowedOrigins: readonly string[];
  /** Lower case. */
  readonly header: string;
  readonly cookie: Readonly<{
    name: string;
    path: string;
    domain: string | undefined;
    sameSite: 'strict' | 'lax' | 'none';
    secure: boolean;
  }>;
}

/** The refresh cookie's default name (with `secure`, the default). */
const DEFAULT_NAME = '__Host-etp_refresh';

/** The value of the transport header that selects cookie mode. */
export const COOKIE_MODE = 'cookie';

const made = new WeakSet<CookieTransport>();

/** RFC 6265 cookie-name and RFC 9110 header-name: both are `token`s. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const DOMAIN = /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);
/**
 * Headers that cannot carry the CSRF defence: CORS-safelisted ones (a
 * cross-site form or simple fetch sends them without a preflight), ones
 * browsers do not let scripts set, and ones with another meaning here.
 */
const UNFIT_HEADERS = new Set([
  'accept',
  'accept-language',
  'content-language',
  'content-type',
  'range',
  'authorization',
  'cookie',
  'origin',
  'host',
  'referer',
  'connection',
  'content-length',
  'user-agent',
  'via',
]);

function parseOrigins(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionError(
      "cookieTransport: allowedOrigins must be a non-empty array of origins, e.g. ['https://app.example.com']",
    );
  }
  return value.map((origin: unknown, index) => {
    const name = `cookieTransport: allowedOrigins[${index}]`;
    let url: URL | undefined;
    try {
      url = typeof origin === 'string' ? new URL(origin) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin) {
      const hint =
        url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:')
          ? `; did you mean '${url.origin}'?`
          : '';
      throw new OptionError(
        `${name} must be a bare origin such as https://app.example.com, no path or trailing slash (got ${JSON.stringify(origin)}${hint})`,
      );
    }
    if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
      throw new OptionError(`${name} must be https (http only for localhost and 127.0.0.1; got ${url.origin})`);
    }
    return url.origin;
  });
}

function only(value: object, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new OptionError(
        `cookieTransport: unknown option ${name}${key} (known: ${known.map((k) => name + k).join(', ')})`,
      );
  }
}

function parseCookieOptions(value: unknown, origins: readonly string[]): CookieTransport['cookie'] {
  if (typeof value !== 'object' || value === null) throw new OptionError('cookieTransport: cookie must be an object');
  only(value, 'cookie.', ['name', 'path', 'domain', 'sameSite', 'secure']);
  const { name, path, domain, sameSite = 'strict', secure = true } = value as RefreshCookieOptions;
  if (typeof secure !== 'boolean') throw new OptionError('cookieTransport: cookie.secure must be a boolean');
  if (sameSite !== 'strict' && sameSite !== 'lax' && sameSite !== 'none') {
    throw new OptionError("cookieTransport: cookie.sameSite must be 'strict', 'lax' or 'none'");
  }
  if (sameSite === 'none' && !secure)
    throw new OptionError("cookieTransport: cookie.sameSite 'none' needs cookie.secure (browsers refuse it otherwise)");
  if (!secure && !origins.every((origin) => LOCAL_HOSTS.has(new URL(origin).hostname))) {
    throw new OptionError(
      'cookieTransport: cookie.secure false is only for local development: every allowed origin must be http://localhost or http://127.0.0.1',
    );
  }
  const cookieName = name ?? (secure ? DEFAULT_NAME : 'etp_refresh');
  if (typeof cookieName !== 'string' || !TOKEN.test(cookieName)) {
    throw new OptionError(
      `cookieTransport: cookie.name must be a cookie name of letters, digits and !#$%&'*+-.^_\`|~ (got ${JSON.stringify(cookieName)})`,
    );
  }
  const lower = cookieName.toLowerCase();
  const hostOnly = lower.startsWith('__host-');
  const cookiePath = path ?? (hostOnly ? '/' : '/auth');
  if (typeof cookiePath !== 'string' || !PATH.test(cookiePath)) {
    throw new OptionError(
      `cookieTransport: cookie.path must start with / and hold no spaces, semicolons or control characters (got ${JSON.stringify(cookiePath)})`,
    );
  }
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) {
    throw new OptionError(
      `cookieTransport: cookie.domain must be a host name such as example.com (got ${JSON.stringify(domain)})`,
    );
  }
  if ((lower.startsWith('__secure-') || hostOnly) && !secure) {
    throw new OptionError(
      `cookieTransport: cookie.name ${cookieName} needs cookie.secure (browsers drop prefixed cookies without Secure)`,
    );
  }
  if (hostOnly && (cookiePath !== '/' || domain !== undefined)) {
    const option =
      cookiePath === '/' ? `cookie.domain ${JSON.stringify(domain)}` : `cookie.path ${JSON.stringify(cookiePath)}`;
    const why = 'a __Host- cookie has Path=/ and no Domain, the only kind a sibling subdomain cannot shadow';
    throw new OptionError(
      name === undefined
        ? `cookieTransport: ${option} does not go with the default cookie.name ${DEFAULT_NAME} (${why}); drop it, or also set cookie.name (e.g. '__Secure-etp_refresh') and accept that a sibling subdomain can then plant a cookie of that name (see the README)`
        : `cookieTransport: cookie.name ${cookieName} needs cookie.path '/' and no cookie.domain (${why}); got ${option}`,
    );
  }
  return Object.freeze({ name: cookieName, path: cookiePath, domain: domain?.toLowerCase(), sameSite, secure });
}

function parseHeader(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new OptionError(`cookieTransport: header must be an HTTP header name (got ${JSON.stringify(value)})`);
  }
  const header = value.toLowerCase();
  if (UNFIT_HEADERS.has(header) || header.startsWith('sec-') || header.startsWith('proxy-')) {
    throw new OptionError(
      `cookieTransport: header ${value} cannot serve as the required custom header; pick your own, e.g. x-token-transport`,
    );
  }
  return header;
}

/**
 * The cookie transport of issue #9: a browser keeps the refresh token in an
 * HttpOnly cookie instead of script-readable storage. Pass the result to
 * `refreshHandler`, `logoutHandler`, `sendTokenPair` (and `csrfGuard`).
 * Requests choose it with the `header` set to `cookie`; others keep the JSON
 * body. Validated once: a bad option throws an `OptionError` naming it.
 */
export function cookieTransport(options: CookieTransportOptions): CookieTransport {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('cookieTransport(options) needs { allowedOrigins: [...] }');
  }
  only(options, '', ['allowedOrigins', 'cookie', 'header']);
  const allowedOrigins = Object.freeze(parseOrigins(options.allowedOrigins));
  const transport: CookieTransport = Object.freeze({
    allowedOrigins,
    header: parseHeader(options.header ?? 'x-token-transport'),
    cookie: parseCookieOptions(options.cookie ?? {}, allowedOrigins),
  });
  made.add(transport);
  return transport;
}

/**
 * Checks a `transport` argument: `undefined` (when `optional`), or what
 * `cookieTransport()` returned. `what` names it in the message, e.g.
 * `'refreshHandler option transport'`.
 */
export function parseTransport(value: unknown, what: string, optional = true): CookieTransport | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value === 'object' && value !== null && made.has(value as CookieTransport))
    return value as CookieTransport;
  throw new OptionError(`${what} must be the object returned by cookieTransport()`);
}
