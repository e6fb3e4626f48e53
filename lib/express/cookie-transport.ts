import { OptionError } from '../errors.js';

/** The refresh cookie's attributes; each `undefined` means its default. */
export interface RefreshCookieOptions {
  /**
   * Default `'__Secure-etp_refresh'` (`'etp_refresh'` with `secure: false`,
   * which browsers require for an unprefixed name). `__Host-` names need
   * `path: '/'` and no `domain`.
   */
  name?: string | undefined;
  /** Default `'/auth'`: the cookie is sent only to routes under it, so mount refresh and logout there. */
  path?: string | undefined;
  /** Default none: this host only. Set it to share the cookie with subdomains. */
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
  'accept', 'accept-language', 'content-language', 'content-type', 'range', 'authorization', 'cookie', 'origin',
  'host', 'referer', 'connection', 'content-length', 'user-agent', 'via',
]);

function parseOrigins(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionError('cookieTransport: allowedOrigins must be a non-empty array of origins, e.g. [\'https://app.example.com\']');
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
      const hint = url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') ? `; did you mean '${url.origin}'?` : '';
      throw new OptionError(`${name} must be a bare origin such as https://app.example.com, no path or trailing slash (got ${JSON.stringify(origin)}${hint})`);
    }
    if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
      throw new OptionError(`${name} must be https (http only for localhost and 127.0.0.1; got ${url.origin})`);
    }
    return url.origin;
  });
}

function only(value: object, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new OptionError(`cookieTransport: unknown option ${name}${key} (known: ${known.map((k) => name + k).join(', ')})`);
  }
}

function parseCookieOptions(value: unknown, origins: readonly string[]): CookieTransport['cookie'] {
  if (typeof value !== 'object' || value === null) throw new OptionError('cookieTransport: cookie must be an object');
  only(value, 'cookie.', ['name', 'path', 'domain', 'sameSite', 'secure']);
  const { name, path = '/auth', domain, sameSite = 'strict', secure = true } = value as RefreshCookieOptions;
  if (typeof secure !== 'boolean') throw new OptionError('cookieTransport: cookie.secure must be a boolean');
  if (sameSite !== 'strict' && sameSite !== 'lax' && sameSite !== 'none') {
    throw new OptionError('cookieTransport: cookie.sameSite must be \'strict\', \'lax\' or \'none\'');
  }
  if (sameSite === 'none' && !secure) throw new OptionError('cookieTransport: cookie.sameSite \'none\' needs cookie.secure (browsers refuse it otherwise)');
  if (!secure && !origins.every((origin) => LOCAL_HOSTS.has(new URL(origin).hostname))) {
    throw new OptionError('cookieTransport: cookie.secure false is only for local development: every allowed origin must be http://localhost or http://127.0.0.1');
  }
  if (typeof path !== 'string' || !PATH.test(path)) {
    throw new OptionError(`cookieTransport: cookie.path must start with / and hold no spaces, semicolons or control characters (got ${JSON.stringify(path)})`);
  }
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) {
    throw new OptionError(`cookieTransport: cookie.domain must be a host name such as example.com (got ${JSON.stringify(domain)})`);
  }
  const cookieName = name ?? (secure ? '__Secure-etp_refresh' : 'etp_refresh');
  if (typeof cookieName !== 'string' || !TOKEN.test(cookieName)) {
    throw new OptionError(`cookieTransport: cookie.name must be a cookie name of letters, digits and !#$%&'*+-.^_\`|~ (got ${JSON.stringify(cookieName)})`);
  }
  const lower = cookieName.toLowerCase();
  if ((lower.startsWith('__secure-') || lower.startsWith('__host-')) && !secure) {
    throw new OptionError(`cookieTransport: cookie.name ${cookieName} needs cookie.secure (browsers drop prefixed cookies without Secure)`);
  }
  if (lower.startsWith('__host-') && (path !== '/' || domain !== undefined)) {
    throw new OptionError(`cookieTransport: cookie.name ${cookieName} needs cookie.path '/' and no cookie.domain (the __Host- rules); use a __Secure- name with another path`);
  }
  return Object.freeze({ name: cookieName, path, domain: domain?.toLowerCase(), sameSite, secure });
}

function parseHeader(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new OptionError(`cookieTransport: header must be an HTTP header name (got ${JSON.stringify(value)})`);
  }
  const header = value.toLowerCase();
  if (UNFIT_HEADERS.has(header) || header.startsWith('sec-') || header.startsWith('proxy-')) {
    throw new OptionError(`cookieTransport: header ${value} cannot serve as the required custom header; pick your own, e.g. x-token-transport`);
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
  if (typeof value === 'object' && value !== null && made.has(value as CookieTransport)) return value as CookieTransport;
  throw new OptionError(`${what} must be the object returned by cookieTransport()`);
}
