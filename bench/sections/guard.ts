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
 */
import type autocannon from 'autocannon';
import { accessKeys, issueAccessTokens, randomSecret, tokenAuthFor, type AccessKeys } from '../keys.js';
import {
  alternate, load, pairedRatio, pairedText, summarize, type Contender, type PairedRatio, type RoundsSummary,
} from '../load.js';
import { verifyCosts, type VerifyCost } from '../micro.js';
import type { Algorithm, BenchOptions } from '../options.js';
import { startServer, type ServerHandle } from '../processes.js';
import { revokedAnswer, revokedSessions, type RevokedSessions } from '../revoked-sessions.js';
import { row, type Row } from '../report/rows.js';
import type { SectionOutput } from '../report/section-output.js';
import type { Table } from '../report/table.js';
import { probes, runProbes, type ProbeResult } from '../security-checks.js';
import type { GuardKind, GuardServerConfig } from '../servers/guard.js';
import { fixed, whole } from '../stats.js';

export const GUARD_TARGETS = { ratioToBare: 0.9, timesExpressJwt: 4, checkedToUnchecked: 0.95, checkedToBare: 0.85 } as const;

const BARE = 'bare Express';
const DISTINCT = 'distinct tokens';
const UNCHECKED = 'requireAccessToken HS256';
const CHECKED = 'requireAccessToken HS256, checkRevocation';
/** Revoked sessions in the checkRevocation contender's view. */
const REVOKED = { full: 1000, quick: 200 } as const;

export interface GuardContenderResult {
  name: string;
  kind: GuardKind;
  algorithm: Algorithm | undefined;
  /** Distinct tokens sent in turn: 1 for the same token on every request. */
  tokens: number;
  /** The bare Express contender it is compared with (same token mode). */
  baseline: string;
  summary: RoundsSummary;
  /** Median req/s over the baseline's median req/s: the figure targets are judged on. */
  ratioToBare: number;
  /** The same, round by round. */
  pairedRatio: PairedRatio;
  /** Microseconds the guard adds to each request on the server's core: 1e6/guarded - 1e6/bare. */
  addedMicroseconds: number;
  /** Forged tokens sent before the load; undefined for bare Express. */
  probes: ProbeResult[] | undefined;
  /** With checkRevocation: its view's size and its answer to a revoked session's token. */
  revocation: { viewSize: number; revokedAnswer: string } | undefined;
}

export interface GuardData {
  connections: number;
  rounds: number;
  duration: number;
  contenders: GuardContenderResult[];
  verifyCosts: VerifyCost[];
}

interface Plan {
  name: string;
  kind: GuardKind;
  /** requireAccessToken with checkRevocation. */
  checked?: boolean;
  algorithm: Algorithm | undefined;
  keys: AccessKeys;
  tokens: string[];
  baseline: string;
}

const LIBRARIES: readonly GuardKind[] = ['requireAccessToken', 'express-jwt', 'passport-jwt'];

/** Fails loudly if the contender does not answer a genuine token with 200 {"ok":true}. */
async function checkAccepts(url: string, token: string, name: string): Promise<void> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
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
      ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]!}` },
    }),
  };
}

function probeSummary(results: readonly ProbeResult[] | undefined): string {
  if (!results) return '-';
  const letThrough = results.filter((r) => !r.refused).map((r) => `${r.name}: ${r.status}`);
  const refused = `${results.length - letThrough.length}/${results.length}`;
  return letThrough.length === 0 ? refused : `${refused} (let through: ${letThrough.join('; ')})`;
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
    if (algorithm === 'HS256') plans.push({ name: BARE, kind: 'bare', algorithm: undefined, keys, tokens: same, baseline: BARE });
    for (const kind of LIBRARIES) plans.push({ name: `${kind} ${algorithm}`, kind, algorithm, keys, tokens: same, baseline: BARE });
    if (algorithm === 'HS256') {
      plans.push({ name: CHECKED, kind: 'requireAccessToken', checked: true, algorithm, keys, tokens: same, baseline: BARE });
    }
    if (algorithm === 'HS256' && options.distinctTokens > 0) {
      const baseline = `${BARE}, ${DISTINCT}`;
      plans.push(
        { name: baseline, kind: 'bare', algorithm: undefined, keys, tokens, baseline },
        { name: `requireAccessToken HS256, ${DISTINCT}`, kind: 'requireAccessToken', algorithm, keys, tokens, baseline },
      );
    }
    costs.push(...await verifyCosts(auth, keys, refreshSecret, tokens, options.quick ? 100 : 500));
  }
  return { plans, costs };
}

export async function guardSection(options: BenchOptions): Promise<SectionOutput<GuardData>> {
  const refreshSecret = randomSecret();
  const { plans, costs } = await plan(options, refreshSecret);
  const servers: ServerHandle[] = [];
  const checked = plans.find((p) => p.checked);
  let revoked: RevokedSessions | undefined;
  try {
    if (checked) revoked = await revokedSessions(checked.keys, refreshSecret, options.quick ? REVOKED.quick : REVOKED.full);
    servers.push(...await Promise.all(plans.map((p) => {
      const config: GuardServerConfig = {
        kind: p.kind, keys: p.keys, refreshSecret,
        revocation: p.checked && revoked ? { redisUrl: revoked.redisUrl, prefix: revoked.prefix } : undefined,
      };
      return startServer('guard', config, `guard ${p.name}`);
    })));
    const probeResults = new Map<string, ProbeResult[]>();
    const revocations = new Map<string, GuardContenderResult['revocation']>();
    for (const [i, p] of plans.entries()) {
      const url = `${servers[i]!.url}/me`;
      await checkAccepts(url, p.tokens[0]!, p.name);
      if (p.kind !== 'bare') probeResults.set(p.name, await runProbes(url, probes(p.tokens[0]!, p.keys)));
      if (p.checked && revoked) {
        const viewSize = (await servers[i]!.counters()).revocationViewSize ?? 0;
        revocations.set(p.name, { viewSize, revokedAnswer: await revokedAnswer(url, revoked.revokedToken) });
      }
    }

    const contenders: Contender[] = plans.map((p, i) => ({
      name: p.name,
      run: (duration) => load({
        url: `${servers[i]!.url}/me`,
        connections: options.connections,
        duration,
        ...(p.tokens.length === 1
          ? { headers: { authorization: `Bearer ${p.tokens[0]!}` } }
          : { requests: [cyclingTokens(p.tokens)] }),
      }),
    }));
    const rounds = await alternate(contenders, {
      rounds: options.rounds, duration: options.duration, warmup: options.warmup, label: 'guard',
    });

    const summaries = new Map(plans.map((p) => [p.name, summarize(rounds.get(p.name)!)]));
    const contenderResults: GuardContenderResult[] = plans.map((p) => {
      const summary = summaries.get(p.name)!;
      const bare = summaries.get(p.baseline)!;
      return {
        name: p.name, kind: p.kind, algorithm: p.algorithm, tokens: p.tokens.length, baseline: p.baseline, summary,
        ratioToBare: summary.rps / bare.rps, pairedRatio: pairedRatio(summary, bare),
        addedMicroseconds: 1e6 / summary.rps - 1e6 / bare.rps, probes: probeResults.get(p.name),
        revocation: revocations.get(p.name),
      };
    });
    const data: GuardData = {
      connections: options.connections, rounds: options.rounds, duration: options.duration,
      contenders: contenderResults, verifyCosts: costs,
    };
    return { tables: tables(data), targets: targets(data), data };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await revoked?.stop();
  }
}

function tables(data: GuardData): Table[] {
  const pools = [...new Set(data.contenders.filter((c) => c.tokens > 1).map((c) => c.tokens))];
  const throughput: Table = {
    title: `Guarded GET /me: ${data.connections} connections, ${data.rounds} alternating rounds of ${data.duration} s, median`,
    head: ['contender', 'req/s', 'rounds (req/s)', 'x bare', 'x bare per round', 'added us/req', 'p50 ms', 'p99 ms', 'forged tokens refused'],
    numeric: [1, 3, 5, 6, 7],
    rows: data.contenders.map((c) => [
      c.name,
      whole(c.summary.rps),
      c.summary.rounds.map(whole).join(' / '),
      fixed(c.ratioToBare, 3),
      c.kind === 'bare' ? '-' : pairedText(c.pairedRatio),
      c.kind === 'bare' ? '-' : fixed(c.addedMicroseconds, 1),
      fixed(c.summary.p50, 2),
      fixed(c.summary.p99, 2),
      probeSummary(c.probes),
    ]),
    notes: [
      'requireAccessToken remembers tokens it has verified (accessToken.cacheSize): with the same token on every request it verifies once.',
      ...pools.map((n) => `"${DISTINCT}": a different token on every request, ${whole(n)} in turn, compared with bare Express sent the same tokens.`),
      ...data.contenders.filter((c) => c.revocation).map((c) => `"checkRevocation": the view of a RedisSessionStore's revocation record`
        + ` (XREAD BLOCK on its own connection) holding ${whole(c.revocation!.viewSize)} revoked sessions; no Redis command per request.`),
      ...(data.contenders.some((c) => c.summary.non2xx + c.summary.errors > 0)
        ? ['WARNING: some contenders had non-2xx answers or errors under load; their figures are not comparable.']
        : []),
    ],
  };
  const micro: Table = {
    title: 'One verification in process (no HTTP), microseconds',
    head: ['algorithm', 'path', 'us/verify'],
    numeric: [2],
    rows: data.verifyCosts.map((c) => [c.algorithm, c.path, fixed(c.microseconds, 1)]),
  };
  return [throughput, micro];
}

/** The checkRevocation contender's rows: its cost beside requireAccessToken alone and bare Express, and its refusal. */
function checkedTargets(c: GuardContenderResult, unchecked: GuardContenderResult | undefined, clean: boolean): Row[] {
  const rows: Row[] = [];
  if (unchecked) {
    const ratio = c.summary.rps / unchecked.summary.rps;
    rows.push(row('guard', `${CHECKED} / ${UNCHECKED} (per round)`,
      `${fixed(ratio, 3)} (${pairedText(pairedRatio(c.summary, unchecked.summary))})`,
      `>= ${fixed(GUARD_TARGETS.checkedToUnchecked, 2)}`, clean && ratio >= GUARD_TARGETS.checkedToUnchecked));
  }
  rows.push(row('guard', `${CHECKED} / bare Express (per round)`, `${fixed(c.ratioToBare, 3)} (${pairedText(c.pairedRatio)})`,
    `>= ${fixed(GUARD_TARGETS.checkedToBare, 2)}`, clean && c.ratioToBare >= GUARD_TARGETS.checkedToBare));
  const { viewSize, revokedAnswer: answer } = c.revocation!;
  rows.push(row('guard', `${CHECKED}: a revoked session's token (view of ${whole(viewSize)} revocations)`, answer,
    '401 token_revoked', answer === '401 token_revoked'));
  return rows;
}

function targets(data: GuardData): Row[] {
  const find = (name: string): GuardContenderResult | undefined => data.contenders.find((c) => c.name === name);
  const rows: Row[] = [];
  for (const c of data.contenders) {
    if (c.kind !== 'requireAccessToken') continue;
    const alg = c.algorithm!;
    const clean = c.summary.non2xx + c.summary.errors === 0;
    const measured = `${fixed(c.ratioToBare, 3)} (${pairedText(c.pairedRatio)})`;
    if (c.tokens > 1) {
      rows.push(row('guard', `requireAccessToken ${alg}, ${DISTINCT} / bare Express (per round)`, measured));
      continue;
    }
    if (c.revocation) {
      rows.push(...checkedTargets(c, find(UNCHECKED), clean));
    } else if (alg === 'HS256') {
      rows.push(row('guard', 'requireAccessToken HS256, same token / bare Express (per round)', measured,
        `>= ${fixed(GUARD_TARGETS.ratioToBare, 2)}`, clean && c.ratioToBare >= GUARD_TARGETS.ratioToBare));
      const ejwt = find('express-jwt HS256');
      const bare = find(c.baseline);
      if (ejwt && bare) {
        // A guard that cost nothing would reach bare/express-jwt: on a machine where Express itself is slow, that is below 4x.
        const times = c.summary.rps / ejwt.summary.rps;
        const ceiling = bare.summary.rps / ejwt.summary.rps;
        rows.push(row('guard', 'requireAccessToken HS256 / express-jwt HS256 (per round; ceiling: bare / express-jwt)',
          `${fixed(times, 2)}x (${pairedText(pairedRatio(c.summary, ejwt.summary))}; ceiling ${fixed(ceiling, 2)}x)`,
          `>= ${GUARD_TARGETS.timesExpressJwt}x`, clean && times >= GUARD_TARGETS.timesExpressJwt));
      }
    } else {
      const ejwt = find(`express-jwt ${alg}`);
      const versus = ejwt ? `; ${fixed(c.summary.rps / ejwt.summary.rps, 2)}x express-jwt` : '';
      rows.push(row('guard', `requireAccessToken ${alg}, same token / bare Express (per round)`, `${measured}${versus}`));
    }
    const refused = c.probes?.filter((p) => p.refused).length ?? 0;
    const total = c.probes?.length ?? 0;
    rows.push(row('guard', `${c.revocation ? CHECKED : `requireAccessToken ${alg}`}: forged tokens refused (401)`,
      `${refused}/${total}`, 'all', total > 0 && refused === total));
  }
  return rows;
}
