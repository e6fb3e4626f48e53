/** Realistic session metadata: what browsers send and where they come from. */

/** Current desktop and mobile browsers, 111 to 135 characters. */
export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
] as const;

export interface Meta {
  ip: string;
  userAgent: string;
}

/** The n-th client: a user agent from the list and a distinct public-looking IPv4. */
export function metaFor(n: number): Meta {
  return {
    ip: `${81 + (n % 100)}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    userAgent: USER_AGENTS[n % USER_AGENTS.length]!,
  };
}

export function averageUserAgentLength(): number {
  return USER_AGENTS.reduce((sum, ua) => sum + ua.length, 0) / USER_AGENTS.length;
}

/** What an in-app browser appends to its user agent (Facebook's, here), to pad one to the longest a session keeps. */
const IN_APP_SUFFIX =
  ' [FBAN/FBIOS;FBAV/489.0.0.41.109;FBBV/662139812;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.6.1;' +
  'FBSS/3;FBID/phone;FBLC/en_GB;FBOP/5;FBRV/663902341;IABMV/1]';

/**
 * The n-th client's user agent padded to exactly `length` characters (512, the
 * most a session keeps): a browser's, then in-app browser tokens, repeated.
 */
export function longUserAgent(n: number, length = 512): string {
  let userAgent: string = USER_AGENTS[n % USER_AGENTS.length]!;
  while (userAgent.length < length) userAgent += IN_APP_SUFFIX.replace('IABMV/1', `IABMV/${n % 10}`);
  return userAgent.slice(0, length);
}

/** `metaFor(n)` with the user agent padded to `length` characters. */
export function longMetaFor(n: number, length = 512): Meta {
  return { ...metaFor(n), userAgent: longUserAgent(n, length) };
}
