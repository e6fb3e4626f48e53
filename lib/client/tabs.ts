/**
 * What the tabs of one app share: a Web Lock around each refresh, so that a
 * refresh token is never presented by two tabs, and a BroadcastChannel that
 * announces "refreshing", the new access token, a failed refresh and the end
 * of the session. Each degrades to nothing where the platform lacks it
 * (Node 20 has BroadcastChannel but no navigator.locks).
 */
import { AuthClientError } from './errors.js';
import type { LockManagerLike } from './types.js';

export type TabMessage =
  | { etp: 1; type: 'refreshing' }
  | { etp: 1; type: 'token'; accessToken: string; expiresAt: number | undefined }
  | { etp: 1; type: 'failed' }
  /** `sid`: the session that ended, when its token said. */
  | { etp: 1; type: 'ended'; reason: string; sid?: string };

/** The BroadcastChannel of browsers and of Node alike. */
interface ChannelLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
  unref?: () => void;
}

export interface TabEvents {
  /** Another tab has a new access token: take it only if it is this session's (see jwt.ts). */
  token(accessToken: string, expiresAt: number | undefined): void;
  /** Another tab says the session ended: check with the server before believing it. */
  ended(reason: string, sid: string | undefined): void;
}

/** Besides `etp` and `type`: the fields each message type must have, and those it may have. */
const FIELDS: Record<string, { required: readonly string[]; optional: readonly string[] }> = {
  refreshing: { required: [], optional: [] },
  failed: { required: [], optional: [] },
  token: { required: ['accessToken'], optional: ['expiresAt'] },
  ended: { required: ['reason'], optional: ['sid'] },
};
/** An error code as the server writes it, or `logout`. */
const REASON = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_TOKEN = 16_384;

/**
 * Only messages of exactly these shapes are taken: another script may use
 * the same channel name, and a same-origin script may forge them. An unknown
 * type, a missing or unknown field, or a value of the wrong type drops the message.
 */
function parseTabMessage(data: unknown): TabMessage | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const message = data as Record<string, unknown>;
  const type = message.type;
  if (message.etp !== 1 || typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return undefined;
  const { required, optional } = FIELDS[type]!;
  const keys = Object.keys(message);
  if (required.some((key) => !keys.includes(key))) return undefined;
  if (keys.some((key) => key !== 'etp' && key !== 'type' && !required.includes(key) && !optional.includes(key)))
    return undefined;
  switch (type) {
    case 'token': {
      const { accessToken, expiresAt } = message;
      if (typeof accessToken !== 'string' || accessToken === '' || accessToken.length > MAX_TOKEN) return undefined;
      if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) return undefined;
      return { etp: 1, type, accessToken, expiresAt };
    }
    case 'ended': {
      const { reason, sid } = message;
      if (typeof reason !== 'string' || !REASON.test(reason)) return undefined;
      if (sid !== undefined && (typeof sid !== 'string' || sid === '' || sid.length > 256)) return undefined;
      return sid === undefined ? { etp: 1, type, reason } : { etp: 1, type, reason, sid };
    }
    default:
      return { etp: 1, type: type as 'refreshing' | 'failed' };
  }
}

export class TabSync {
  readonly hasLocks: boolean;
  private readonly channel: ChannelLike | undefined;
  private readonly lockName: string;
  /** When another tab said it started a refresh it has not yet reported on. */
  private peerSince: number | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    name: string | undefined,
    private readonly locks: LockManagerLike | undefined,
    private readonly lockTimeout: number,
    private readonly events: TabEvents,
    /** Monotonic ms. */
    private readonly clock: () => number,
  ) {
    this.hasLocks = locks !== undefined;
    this.lockName = `${name ?? 'express-token-pair'}:refresh`;
    const Channel = (globalThis as unknown as { BroadcastChannel?: new (channelName: string) => ChannelLike })
      .BroadcastChannel;
    if (name === undefined || typeof Channel !== 'function') return;
    this.channel = new Channel(name);
    this.channel.onmessage = (event) => {
      this.receive(event.data);
    };
    // Node: a listening channel would keep the process alive.
    this.channel.unref?.();
  }

  post(message: TabMessage): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // Closed, or the message could not be cloned: the other tabs refresh for themselves.
    }
  }

  /** True while another tab is refreshing (for at most lockTimeout after it said so). */
  peerRefreshing(): boolean {
    return this.peerSince !== undefined && this.clock() - this.peerSince < this.lockTimeout;
  }

  /** Resolves when another tab reports how its refresh went, or after `ms`. */
  waitForPeer(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /**
   * Runs `work` holding the tabs' refresh lock. Not granted within
   * lockTimeout: rejects `lock_timeout` and `work` does not run. A lock
   * manager that refuses outright (an opaque origin) is done without.
   */
  async withLock<T>(work: () => Promise<T>): Promise<T> {
    if (this.locks === undefined) return work();
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, this.lockTimeout);
    let granted = false;
    try {
      return (await this.locks.request(this.lockName, { signal: controller.signal }, async () => {
        granted = true;
        clearTimeout(timer);
        return work();
      })) as T;
    } catch (error) {
      if (granted) throw error;
      if (controller.signal.aborted) {
        throw new AuthClientError('lock_timeout', `another tab held the refresh lock for over ${this.lockTimeout} ms`, {
          cause: error,
        });
      }
      return await work();
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.channel) {
      this.channel.onmessage = null;
      this.channel.close();
    }
    for (const done of [...this.waiters]) done();
  }

  private receive(data: unknown): void {
    const message = parseTabMessage(data);
    if (message === undefined) return;
    if (message.type === 'refreshing') {
      this.peerSince = this.clock();
      return;
    }
    this.peerSince = undefined;
    if (message.type === 'token') this.events.token(message.accessToken, message.expiresAt);
    if (message.type === 'ended') this.events.ended(message.reason, message.sid);
    for (const done of [...this.waiters]) done();
  }
}
