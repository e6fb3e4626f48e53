/**
 * Guard section: `GET /me` on bare Express and guarded by requireAccessToken,
 * express-jwt and passport-jwt, each server in its own process, the same
 * token for all, rounds alternating between them. Every guarded server must
 * first refuse a set of forged tokens (security-checks.ts).
 *
 * requireAccessToken keeps tokens it has verified in a cache, so the same
 * token on every request is its best case. Two more contenders send a
 * different token on every request, from a pool larger than that cache:
 * requireAccessToken HS256 and, as its baseline, bare Express.
 *
 * One more, requireAccessToken HS256 with `checkRevocation`, follows the
 * revocation record of a private Redis holding some revoked sessions
 * (revoked-sessions.ts): it must refuse one of their tokens, and cost next
 * to nothing beside requireAccessToken alone (no Redis round trip per request).
 *
 * And the alternative a user would pick instead of tokens: a session in
 * Redis, express-session + connect-redis (session-contender.ts), its cookie
 * on every request, its Redis commands per request counted over the rounds.
 */
import type autocannon from 'autocannon';
import { accessKeys, issueAccessTokens, randomSecret, tokenAuthFor, type AccessKeys } from '../keys.js';
import { alternate, load, pairedRatio, summarize, type Contender } from '../load.js';
import { verifyCosts, type VerifyCost } from '../micro.js';
import type { Algorithm, BenchOptions } from '../options.js';
import { startServer, type ServerHandle } from '../processes.js';
import { revokedAnswer, revokedSessions, type RevokedSessions } from '../revoked-sessions.js';
import { startSessionContender, type SessionContender } from '../session-contender.js';
import type { SectionOutput } from '../report/section-output.js';
import { probes, runProbes, type ProbeResult } from '../security-checks.js';
import type { GuardServerConfig } from '../servers/guard.js';
import {
  BARE,
  CHECKED,
  DISTINCT,
  SESSION_STORE,
  type ContenderKind,
  guardTables,
  guardTargets,
  type GuardContenderResult,
  type GuardData,
} from './guard-report.js';

export { GUARD_TARGETS, type GuardContenderResult, type GuardData } from './guard-report.js';

/** Revoked sessions in the checkRevocation contender's view. */
const REVOKED = { full: 1000, quick: 200 } as const;

interface Plan {
  name: string;
  kind: ContenderKind;
  /** requireAccessToken with checkRevocation. */
  checked?: boolean;
  algorithm: Algorithm | undefined;
  keys: AccessKeys;
  tokens: string[];
  baseline: string;
}

const LIBRARIES: readonly ContenderKind[] = ['requireAccessToken', 'express-jwt', 'passport-jwt'];

/** Fails loudly if the contender does not answer a genuine token (or session cookie) with 200 {"ok":true}. */
async function checkAccepts(url: string, headers: Record<string, string>, name: string): Promise<void> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (response.status !== 200 || body !== '{"ok":true}') {
    throw new Error(`bench: ${name} answered the genuine token with ${response.status} ${body}`);
  }
}

/** GET /me with the next token of the pool on every request. */
function cyclingTokens(tokens: readonly string[]): autocannon.Request {
  let next = 0;
  return {
    method: 'GET',
    path: '/me',
    setupRequest: (request) => ({
      ...request,
      headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]!}` },
    }),
  };
}

/** The contenders, in round order, and the in-process verification costs. */
async function plan(options: BenchOptions, refreshSecret: string): Promise<{ plans: Plan[]; costs: VerifyCost[] }> {
  const plans: Plan[] = [];
  const costs: VerifyCost[] = [];
  for (const algorithm of options.algorithms) {
    const keys = accessKeys(algorithm);
    const auth = tokenAuthFor(keys, refreshSecret);
    const tokens = await issueAccessTokens(auth, algorithm === 'HS256' ? Math.max(1, options.distinctTokens) : 1);
    const same = tokens.slice(0, 1);
    if (algorithm === 'HS256')
      plans.push({ name: BARE, kind: 'bare', algorithm: undefined, keys, tokens: same, baseline: BARE });
    for (const kind of LIBRARIES)
      plans.push({ name: `${kind} ${algorithm}`, kind, algorithm, keys, tokens: same, baseline: BARE });
    if (algorithm === 'HS256') {
      plans.push({ name: SESSION_STORE, kind: 'session', algorithm: undefined, keys, tokens: same, baseline: BARE });
      plans.push({
        name: CHECKED,
        kind: 'requireAccessToken',
        checked: true,
        algorithm,
        keys,
        tokens: same,
        baseline: BARE,
      });
    }
    if (algorithm === 'HS256' && options.distinctTokens > 0) {
      const baseline = `${BARE}, ${DISTINCT}`;
      plans.push(
        { name: baseline, kind: 'bare', algorithm: undefined, keys, tokens, baseline },
        {
          name: `requireAccessToken HS256, ${DISTINCT}`,
          kind: 'requireAccessToken',
          algorithm,
          keys,
          tokens,
          baseline,
        },
      );
    }
    costs.push(...(await verifyCosts(auth, keys, refreshSecret, tokens, options.quick ? 100 : 500)));
  }
  return { plans, costs };
}

export async function guardSection(options: BenchOptions): Promise<SectionOutput<GuardData>> {
  const refreshSecret = randomSecret();
  const { plans, costs } = await plan(options, refreshSecret);
  const servers: ServerHandle[] = [];
  const checked = plans.find((p) => p.checked);
  let revoked: RevokedSessions | undefined;
  let session: SessionContender | undefined;
  try {
    if (checked)
      revoked = await revokedSessions(checked.keys, refreshSecret, options.quick ? REVOKED.quick : REVOKED.full);
    servers.push(
      ...(await Promise.all(
        plans.map(async (p) => {
          if (p.kind === 'session') {
            session = await startSessionContender(`guard ${p.name}`);
            return session.server;
          }
          const config: GuardServerConfig = {
            kind: p.kind,
            keys: p.keys,
            refreshSecret,
            revocation: p.checked && revoked ? { redisUrl: revoked.redisUrl, prefix: revoked.prefix } : undefined,
          };
          return startServer('guard', config, `guard ${p.name}`);
        }),
      )),
    );
    const probeResults = new Map<string, ProbeResult[]>();
    const revocations = new Map<string, GuardContenderResult['revocation']>();
    for (const [i, p] of plans.entries()) {
      const url = `${servers[i]!.url}/me`;
      if (p.kind === 'session') {
        await checkAccepts(url, { cookie: session!.cookie }, p.name);
        const anonymous = await fetch(url);
        if (anonymous.status !== 401)
          throw new Error(`bench: ${p.name} answered ${anonymous.status} without a session`);
        continue;
      }
      await checkAccepts(url, { authorization: `Bearer ${p.tokens[0]!}` }, p.name);
      if (p.kind !== 'bare') probeResults.set(p.name, await runProbes(url, probes(p.tokens[0]!, p.keys)));
      if (p.checked && revoked) {
        const viewSize = (await servers[i]!.counters()).revocationViewSize ?? 0;
        revocations.set(p.name, { viewSize, revokedAnswer: await revokedAnswer(url, revoked.revokedToken) });
      }
    }

    const contenders: Contender[] = plans.map((p, i) => ({
      name: p.name,
      run: (duration) =>
        load({
          url: `${servers[i]!.url}/me`,
          connections: options.connections,
          duration,
          ...(p.kind === 'session'
            ? { headers: { cookie: session!.cookie } }
            : p.tokens.length === 1
              ? { headers: { authorization: `Bearer ${p.tokens[0]!}` } }
              : { requests: [cyclingTokens(p.tokens)] }),
        }),
    }));
    const sessionUsage = await session?.measure();
    const rounds = await alternate(contenders, {
      rounds: options.rounds,
      duration: options.duration,
      warmup: options.warmup,
      label: 'guard',
    });
    const sessionRedis = await sessionUsage?.();

    const summaries = new Map(plans.map((p) => [p.name, summarize(rounds.get(p.name)!)]));
    const contenderResults: GuardContenderResult[] = plans.map((p) => {
      const summary = summaries.get(p.name)!;
      const bare = summaries.get(p.baseline)!;
      return {
        name: p.name,
        kind: p.kind,
        algorithm: p.algorithm,
        tokens: p.tokens.length,
        baseline: p.baseline,
        summary,
        ratioToBare: summary.rps / bare.rps,
        pairedRatio: pairedRatio(summary, bare),
        addedMicroseconds: 1e6 / summary.rps - 1e6 / bare.rps,
        probes: probeResults.get(p.name),
        revocation: revocations.get(p.name),
        sessionRedis: p.kind === 'session' ? sessionRedis : undefined,
      };
    });
    const data: GuardData = {
      connections: options.connections,
      rounds: options.rounds,
      duration: options.duration,
      contenders: contenderResults,
      verifyCosts: costs,
    };
    return { tables: guardTables(data), targets: guardTargets(data), data };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await revoked?.stop();
    await session?.stop();
  }
}
