/**
 * Which URLs are the API's: the access token goes only to them, and only
 * their 401s start a refresh. A URL is placed as fetch places it, by the URL
 * parser against the page's base URL, and compared by `.origin`: so every
 * spelling (protocol-relative, backslashes, userinfo, tabs, case, default
 * ports) lands where the request would go.
 */

/** The base URL fetch resolves a relative URL against: the document's, a worker's location, or none (Node). */
export function pageBase(): string | undefined {
  const scope = globalThis as { document?: { baseURI?: unknown }; location?: { href?: unknown } };
  const base = scope.document?.baseURI ?? scope.location?.href;
  return typeof base === 'string' ? base : undefined;
}

function isRequest(input: unknown): input is Request {
  if (typeof input !== 'object' || input === null) return false;
  if (typeof Request === 'function' && input instanceof Request) return true;
  // A Request of another realm (an iframe's) is still one to fetch.
  return (
    Object.prototype.toString.call(input) === '[object Request]' && typeof (input as { url?: unknown }).url === 'string'
  );
}

/** Where fetch would send `input`, or `undefined` if it cannot be placed (fetch would reject it). */
export function targetOf(input: string | URL | Request, base = pageBase()): URL | undefined {
  // As fetch does: a Request's own URL, anything else as a string.
  const text = isRequest(input) ? input.url : String(input);
  try {
    return new URL(text, base);
  } catch {
    return undefined;
  }
}

const HTTP = new Set(['http:', 'https:']);

/** Whether a URL is of one of the API's origins (http or https only: a blob: or data: URL never is). */
export function isApiUrl(url: URL | undefined, origins: ReadonlySet<string>): boolean {
  return url !== undefined && HTTP.has(url.protocol) && origins.has(url.origin);
}

/** Hosts whose `http:` origin browsers treat as secure. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/**
 * The `origins` option: each an exact origin (scheme, host, port; no path,
 * no trailing slash, as `URL#origin` spells it), https, or http on a loopback host.
 */
export function parseOrigins(value: unknown, fail: (message: string) => never): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('origins must be an array of origins');
  return value.map((origin: unknown, index) => {
    let url: URL | undefined;
    try {
      url = typeof origin === 'string' ? new URL(origin) : undefined;
    } catch {
      url = undefined;
    }
    const shown = typeof origin === 'string' ? JSON.stringify(origin) : String(origin);
    // A wildcard parses as a host, but would match nothing: say so.
    if (url === undefined || url.origin !== origin || url.hostname.includes('*')) {
      fail(`origins[${index}] must be an origin such as https://api.example.com (got ${shown})`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      fail(`origins[${index}] must be https, or http on localhost (got ${shown})`);
    }
    return origin;
  });
}
