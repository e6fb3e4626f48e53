import { CredentialsChangedError, StoreUnavailableError } from '../../errors.js';
import { InvalidDpopProofError } from '../../dpop/errors.js';
import type {
  CreateOptions,
  CurrentToken,
  Ending,
  NewSession,
  RevocationFeed,
  RevokeAllInput,
  RevokeInput,
  RevokeResult,
  RotateInput,
  RotateResult,
  SessionInfo,
  SessionStore,
} from '../../store-types.js';
import type { Claims } from '../../types.js';
import { scripts, type Script } from './scripts.js';
import { argv, stepArgv, type ArgsOf, type SessionScript } from './fields.js';
import { boundedSendCommand, isNoScript, type SendCommand } from './bounded-send.js';
import type { ClientKind } from './connection.js';
import { fail, parseOptions, type RedisSessionStoreOptions } from './options.js';
import { RedisRevocationFeed, type DuplicableClient } from '../../revocation/redis-feed.js';
import { ClusterRevocationFeed } from '../../revocation/cluster-feed.js';
import { shardedLayout, singleLayout, type Layout } from './layout.js';
import { serverWarnings, type StoreWarning } from './health.js';
import { onEveryPrimary, primaryLister, type PrimaryLister } from './primaries.js';
import { Deadlines, steady } from './deadlines.js';
import type { ConnectionMark } from './wait.js';

export type { RedisSessionStoreOptions } from './options.js';

/**
 * Sessions in Redis: one hash per user, one field per session (see
 * scripts.ts for the layout). Every operation is one Lua script run with
 * EVALSHA (EVAL only after a NOSCRIPT), so each is one round trip, one
 * Cluster slot and atomic. Replies are read the same under RESP2 and RESP3.
 * Needs Redis 7.0 or later.
 */
export class RedisSessionStore implements SessionStore {
  /** Keeps `jkt` and checks DPoP proofs (see `SessionStore.features`). */
  readonly features = { dpop: true } as const;
  readonly #send: SendCommand;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #callerClock: boolean;
  /** Where each user's keys and the revocation record are (layout.ts). */
  readonly #layout: Layout;
  /** True for the Cluster layout with a record: the feed polls every shard (cluster-feed.ts). */
  readonly #sharded: boolean;
  /** Where the revocation feed reads: `blockingSendCommand`, or the client to duplicate. */
  readonly #feedSource: DuplicableClient | SendCommand | undefined;
  /** Asks a cluster client to reread its slot map after a failure (see `RedisConnection.recover`). */
  readonly #recover: () => void;
  /** The kind of `client`, or undefined with `sendCommand`. */
  readonly clientKind: ClientKind | undefined;
  /** Places each script's deadline on Redis's clock. */
  readonly #deadlines: Deadlines;
  /** A cluster client's primaries, for `ping` and `checkServer` (primaries.ts); undefined for other clients. */
  readonly #primaries: PrimaryLister | undefined = undefined;
  /** Replicas that must have each write before it is answered (`WAIT`); 0: none. */
  readonly #waitForReplicas: number;
  /** Marks the connection of a key's commands, so that a `WAIT` on another than its script's fails (wait.ts). */
  readonly #mark: ConnectionMark | undefined;

  constructor(options: RedisSessionStoreOptions) {
    const config = parseOptions(options);
    const { connection, prefix, timeout } = config;
    // The connection's own send, so that a routing key (WAIT's) reaches a node-redis cluster.
    this.#send = boundedSendCommand(config.sendCommand ?? connection!.send, timeout, () => connection?.ready() ?? true);
    this.#prefix = prefix;
    this.#timeout = timeout;
    this.#deadlines = new Deadlines(this.#send, timeout);
    this.#callerClock = config.callerClock;
    this.#sharded = config.shards > 0;
    this.#layout = this.#sharded ? shardedLayout(prefix, config.shards) : singleLayout(prefix, config.revocationRecord);
    this.#feedSource = config.blockingSendCommand ?? connection?.feed;
    this.#waitForReplicas = config.waitForReplicas;
    this.#mark = config.waitForReplicas > 0 ? connection?.mark : undefined;
    this.clientKind = connection?.kind;
    this.#recover = connection?.recover ?? (() => {});
    if (connection?.cluster) this.#primaries = primaryLister(options.client);
  }

  /** `callerMs` of every script: the caller's time in ms, or '' for Redis's own. */
  #time(nowMs: number): string {
    return this.#callerClock ? String(nowMs) : '';
  }

  /** `callerMs` and `revocationTtl` of every session script (fields.ts: `commonArgs`). */
  #ending(ending: Ending): { callerMs: string; revocationTtl: string } {
    return { callerMs: this.#time(ending.nowMs ?? ending.now * 1000), revocationTtl: String(ending.revocationTtl) };
  }

  /** EVALSHA; on NOSCRIPT only (Redis restarted or flushed its scripts), EVAL once. */
  async #evalsha(script: Script, tail: string[]): Promise<unknown> {
    try {
      return await this.#send(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#send(['EVAL', script.source, ...tail]);
    }
  }

  /** Runs the session script `name` for the user's hash, its ARGV named by fields.ts; adds the deadline. */
  async #run<S extends SessionScript>(name: S, userId: string, args: Omit<ArgsOf<S>, 'deadline'>): Promise<unknown> {
    const stream = this.#layout.stream(userId);
    const keys = [
      this.#layout.user(userId),
      this.#layout.cutOff(userId),
      this.#layout.proofs(userId),
      ...(stream === undefined ? [] : [stream]),
    ];
    const named = { ...args, deadline: await this.#deadlines.next() } as ArgsOf<S>;
    const sameConnection = name === 'list' ? undefined : this.#mark?.(keys[0]!);
    let reply: unknown;
    try {
      reply = await this.#evalsha(scripts[name], [String(keys.length), ...keys, ...argv(name, named)]);
    } catch (error) {
      this.#recover();
      throw error;
    }
    if (reply === 'late') {
      this.#deadlines.stale();
      throw new StoreUnavailableError(
        `Redis ran the command after the ${this.#timeout} ms timeout; it changed nothing`,
      );
    }
    if (name !== 'list') await this.#replicated(keys[0]!, sameConnection);
    return reply;
  }

  /**
   * `waitForReplicas`: `WAIT n <half the timeout>` on the primary of `key`
   * (the script's write is the last one on that connection), 503 unless n
   * replicas acknowledged, or when `sameConnection` (marked before the
   * script) says the connection of `key` changed: `WAIT` then ran on another
   * connection than the write's and counted nothing. Nothing with 0.
   */
  async #replicated(key: string, sameConnection: (() => boolean) | undefined): Promise<void> {
    const n = this.#waitForReplicas;
    if (n === 0) return;
    const wait = String(Math.max(1, Math.floor(this.#timeout / 2)));
    const acknowledged = Number(await this.#send(['WAIT', String(n), wait], key));
    if (sameConnection !== undefined && !sameConnection()) {
      throw new StoreUnavailableError(
        'the connection to Redis changed between the write and its WAIT (a reconnect or failover);' +
          ' WAIT counted no write, so a failover could have lost it (waitForReplicas)',
      );
    }
    if (!(acknowledged >= n)) {
      throw new StoreUnavailableError(
        `only ${acknowledged} of ${n} Redis replicas acknowledged the write within ${wait} ms (waitForReplicas);` +
          ' it is on the primary but a failover could lose it',
      );
    }
  }

  async create(session: NewSession, options: CreateOptions): Promise<CurrentToken> {
    const entered = steady();
    const age = options.authenticatedAge;
    // On Redis's clock, the check began `age` before this call: placed no later than it can have
    // been (a late estimate could let a login that checked an old password through). The script
    // takes it when earlier than its own (now - age), which a command that waited in a queue makes late.
    const began =
      age === undefined || this.#callerClock
        ? ''
        : String(Math.floor((await this.#deadlines.earliestOnRedisClock(entered)) - age));
    const reply = await this.#run('create', session.userId, {
      ...this.#ending(options),
      sid: session.sessionId,
      jti: session.jti,
      ttl: String(session.ttl),
      maxLifetime: String(session.maxLifetime),
      claims: claimsJson(session.claims),
      ip: session.meta.ip ?? '',
      ua: session.meta.userAgent ?? '',
      maxSessions: String(options.maxSessions),
      checkAge: age === undefined ? '' : String(age),
      checkBegan: began,
      jkt: session.jkt ?? '',
      proofJti: options.proof?.jti ?? '',
      proofTtl: String(options.proof?.ttl ?? ''),
    });
    if (reply === 'replayed') throw new InvalidDpopProofError('DPoP proof jti was already used');
    if (reply === 'changed')
      throw new CredentialsChangedError('the credentials changed after this login checked them; log in again');
    const [issuedAt, expiresAt] = Array.isArray(reply) ? reply.map(Number) : [];
    if (!Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(expiresAt)) unexpected();
    return { jti: session.jti, issuedAt: issuedAt!, expiresAt: expiresAt! };
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const reply = await this.#run('rotate', input.userId, {
      ...this.#ending(input),
      sid: input.sessionId,
      presented: input.jti,
      nextJti: input.nextJti,
      ttl: String(input.ttl),
      grace: String(input.grace),
      ip: input.meta.ip ?? '',
      ua: input.meta.userAgent ?? '',
      replaceClaims: input.claims === undefined ? '0' : '1',
      claims: input.claims === undefined ? '' : claimsJson(input.claims),
      window: String(input.window),
      presentedIat: String(input.issuedAt ?? ''),
      proofJkt: input.proof?.jkt ?? '',
      proofJti: input.proof?.jti ?? '',
      proofTtl: String(input.proof?.ttl ?? ''),
    });
    if (!Array.isArray(reply)) unexpected();
    const [status, jti, issuedAt, expiresAt, claims, ip, userAgent, refreshes, jkt] = reply.map(String);
    if (status === 'rotated' || status === 'grace') {
      return {
        status,
        current: { jti: jti!, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) },
        claims: claims ? (JSON.parse(claims) as Claims) : {},
        previousMeta: { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
        refreshes: Number(refreshes),
        ...(jkt ? { jkt } : {}),
      };
    }
    if (status === 'reused' || status === 'unknown' || status === 'key_mismatch' || status === 'proof_replayed')
      return { status };
    unexpected();
  }

  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const reply = String(
      await this.#run('revoke', input.userId, {
        ...this.#ending(input),
        sid: input.sessionId,
        presented: input.jti ?? '',
        grace: String(input.grace),
        presentedIat: String(input.issuedAt ?? ''),
      }),
    );
    if (reply === 'revoked' || reply === 'reused' || reply === 'unknown') return reply;
    unexpected();
  }

  async revokeAll(input: RevokeAllInput): Promise<number> {
    return Number(
      await this.#run('revokeAll', input.userId, {
        ...this.#ending(input),
        userId: input.userId,
        keep: input.keepSessionId ?? '',
        cutoffTtl: String(input.credentialTtl),
      }),
    );
  }

  async list(userId: string, now: number): Promise<SessionInfo[]> {
    const reply = await this.#run('list', userId, { callerMs: this.#time(now * 1000), revocationTtl: '0' });
    if (!Array.isArray(reply)) unexpected();
    return reply
      .map((row: unknown) => {
        if (!Array.isArray(row)) unexpected();
        const [sessionId, createdAt, lastUsedAt, expiresAt, ip, userAgent] = row.map(String);
        return {
          sessionId: sessionId!,
          createdAt: Number(createdAt),
          lastUsedAt: Number(lastUsedAt),
          expiresAt: Number(expiresAt),
          ip: ip || undefined,
          userAgent: userAgent || undefined,
        };
      })
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.sessionId < b.sessionId ? -1 : 1));
  }

  /**
   * A new follower of the revocation record: on one Redis, of its stream on a
   * connection of its own (see `RedisRevocationFeed`); on a Cluster, of every
   * shard's stream, polled through the store's own client
   * (`ClusterRevocationFeed`). Throws `OptionError` when the store keeps no
   * record, or was given `sendCommand` without `blockingSendCommand` (one Redis).
   */
  revocations(): RevocationFeed {
    const [stream] = this.#layout.streams;
    if (stream === undefined) {
      fail('checkRevocation needs the revocation record; this store has revocationRecord: false');
    }
    if (this.#sharded) {
      return new ClusterRevocationFeed({
        streams: [...this.#layout.streams],
        send: (args) => this.#send(args),
        script: scripts.step,
        argv: stepArgv,
      });
    }
    if (this.#feedSource === undefined) {
      fail(
        "checkRevocation needs blockingSendCommand (a second connection's sendCommand, for the revocation feed)" +
          ' or a node-redis client (it has duplicate())',
      );
    }
    return new RedisRevocationFeed(this.#feedSource, stream);
  }

  /**
   * Resolves once Redis accepts a write from this store: rejects with
   * `StoreUnavailableError` on a replica (READONLY), while Redis loads or
   * its replica link is down (LOADING, MASTERDOWN), when it is out of
   * memory (OOM) or the Cluster is down (CLUSTERDOWN). With a cluster
   * client, every primary of its slot map is probed (a `<prefix>{tag}probe`
   * key in a slot it serves), and the rejection names each failing one.
   * Caveat: with `sendCommand` on a Cluster, only the shard of one key.
   */
  async ping(): Promise<void> {
    const primaries = this.#primaries?.().filter((primary) => primary.tag !== undefined);
    try {
      if (primaries === undefined || primaries.length === 0) {
        await this.#evalsha(scripts.probe, ['1', `${this.#prefix}probe`]);
        return;
      }
      await onEveryPrimary(primaries, 'the probe write', (primary) =>
        this.#evalsha(scripts.probe, ['1', `${this.#prefix}{${primary.tag}}probe`]),
      );
    } catch (error) {
      this.#recover();
      throw error;
    }
  }

  /**
   * What about this Redis can lose sessions: a `maxmemory-policy` that
   * evicts keys (every one but `noeviction`, and the `volatile-*` ones
   * too, since session keys expire), or a version before 7.0. Empty when
   * nothing is wrong. Rejects with `StoreUnavailableError` when Redis does
   * not answer. With a cluster client it asks every primary: each warning
   * names its node (`node`, and the message starts with it), and a primary
   * that does not answer rejects naming it. Caveat: with `sendCommand` on a
   * Cluster, it asks whichever node gets a command without a key.
   */
  async checkServer(): Promise<StoreWarning[]> {
    const primaries = this.#primaries?.();
    if (primaries === undefined || primaries.length === 0) {
      return serverWarnings(await this.#send(['INFO', 'server']), await this.#send(['INFO', 'memory']));
    }
    const found = await onEveryPrimary(primaries, 'INFO', async (primary) => {
      const send = boundedSendCommand(primary.send, this.#timeout);
      const warnings = serverWarnings(await send(['INFO', 'server']), await send(['INFO', 'memory']));
      return warnings.map((warning) => ({
        ...warning,
        node: primary.node,
        message: `${primary.node}: ${warning.message}`,
      }));
    });
    return found.flat();
  }
}

function claimsJson(claims: Claims): string {
  return Object.keys(claims).length === 0 ? '' : JSON.stringify(claims);
}

function unexpected(): never {
  throw new StoreUnavailableError('unexpected reply from Redis');
}
