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
