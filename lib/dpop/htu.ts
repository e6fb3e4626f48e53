/**
 * The `htu` comparison of RFC 9449 §4.3: the proof's URI and the request's
 * are compared without query and fragment, after RFC 3986 §6.2.2
 * syntax-based normalisation (scheme and host lower-case, percent-encodings
 * of unreserved characters decoded and the others' hex upper-case, dot
 * segments removed) and §6.2.3 scheme-based normalisation (default or empty
 * port dropped, empty path as `/`).
 *
 * Caveat, by design: a URI that only a lenient parser reads is refused
 * rather than guessed at: characters RFC 3986 does not allow (spaces,
 * backslashes, non-ASCII, so an IDN host must come in its `xn--` form), a
 * `%` without two hex digits, userinfo, a scheme other than http(s) or
 * without `//`, and a host the WHATWG parser would rewrite beyond its case
 * (IPv4 in hex or short forms, percent-encoded or non-canonical IPv6
 * hosts). A trailing dot is kept: `example.com.` is not `example.com`.
 */

/** Every character RFC 3986 allows in a URI (unreserved, reserved, `%`). */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
const BROKEN_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const SCHEME_AND_AUTHORITY = /^https?:\/\/([^/?#]*)/i;
const PERCENT = /%[0-9A-Fa-f]{2}/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The host of an authority (no userinfo), as written: `[v6]` or everything before the port. */
function writtenHost(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.indexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

/** RFC 3986 §6.2.2.1-2: `%7e` -> `~`, `%2f` -> `%2F`. */
function normalizePercents(path: string): string {
  return path.replace(PERCENT, (encoded) => {
    const character = String.fromCharCode(parseInt(encoded.slice(1), 16));
    return UNRESERVED.test(character) ? character : encoded.toUpperCase();
  });
}

/**
 * `scheme://host[:port]/path` of an absolute http(s) URI, normalised as
 * above, without query or fragment; undefined when `value` is not one this
 * comparison accepts. Used on both sides: the proof's `htu` and the request
 * URL the HTTP layer rebuilds.
 */
export function normalizeHtu(value: string): string | undefined {
  if (!URI_CHARACTERS.test(value) || BROKEN_PERCENT.test(value)) return undefined;
  const authority = SCHEME_AND_AUTHORITY.exec(value)?.[1];
  if (authority === undefined || authority.includes('@')) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.hostname === '' || url.hostname !== writtenHost(authority).toLowerCase()) return undefined;
  return `${url.protocol}//${url.host}${normalizePercents(url.pathname)}`;
}
