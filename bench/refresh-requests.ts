/**
 * The autocannon requests of the refresh section. autocannon 9 calls
 * `setupRequest` before every request it sends and `onResponse` after every
 * answer, on the same connection context, so a request can carry the next
 * token of the queue and its answer can put the successor back.
 */
import type autocannon from 'autocannon';
import { USER_AGENTS } from './fixtures.js';
import type { TokenQueue } from './token-queue.js';

export const REFRESH_PATH = '/auth/refresh';
const HEADERS = { 'content-type': 'application/json', 'user-agent': USER_AGENTS[0] };

export function bodyOf(token: string): string {
  return JSON.stringify({ refreshToken: token });
}

/** What the answers looked like, over every run that used the request. */
export interface RotationTally {
  responses2xx: number;
  /** 200s carrying a refresh token other than the one sent. */
  rotationsSeen: number;
  non2xx: number;
  /** 200s without a new refresh token. */
  unexpectedBodies: number;
}

interface Sent {
  sent?: string;
}

/** Each request refreshes the oldest token of `queue`; its successor goes to the back. */
export function rotatingRequest(queue: TokenQueue, tally: RotationTally): autocannon.Request {
  return {
    method: 'POST',
    path: REFRESH_PATH,
    headers: HEADERS,
    setupRequest: (request, context) => {
      const token = queue.take();
      (context as Sent).sent = token;
      return { ...request, body: bodyOf(token) };
    },
    onResponse: (status, body, context) => {
      if (status !== 200) {
        tally.non2xx++;
        return;
      }
      tally.responses2xx++;
      const next = (JSON.parse(body) as { refreshToken?: unknown }).refreshToken;
      if (typeof next === 'string' && next !== (context as Sent).sent) {
        tally.rotationsSeen++;
        queue.put(next);
      } else {
        tally.unexpectedBodies++;
      }
    },
  };
}

/** The same kind of body, cycling through `bodies`, built per request like the rotating one (same client cost). */
export function cyclingRequest(bodies: readonly string[]): autocannon.Request {
  let next = 0;
  return {
    method: 'POST',
    path: REFRESH_PATH,
    headers: HEADERS,
    setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }),
  };
}

/** One refresh outside the load, e.g. `fetch` for checks. */
export async function postRefresh(
  url: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${REFRESH_PATH}`, { method: 'POST', headers: HEADERS, body: bodyOf(token) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
