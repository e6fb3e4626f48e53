/**
 * The guard section's data (GuardData), its targets (GUARD_TARGETS) and
 * contender names, and how they are reported: the section's tables and target rows.
 */
import type { Algorithm } from '../options.js';
import { pairedRatio, pairedText, type PairedRatio, type RoundsSummary } from '../load.js';
import type { VerifyCost } from '../micro.js';
import { row, type Row } from '../report/rows.js';
import type { Table } from '../report/table.js';
import type { ProbeResult } from '../security-checks.js';
import type { GuardKind } from '../servers/guard.js';
import type { SessionRedisUsage } from '../session-contender.js';
import { fixed, whole } from '../stats.js';

export const GUARD_TARGETS = {
  ratioToBare: 0.9,
  /** A different token on every request (issue 15 item 5): every one verified in full. */
  distinctToBare: 0.9,
  timesExpressJwt: 4,
  checkedToUnchecked: 0.95,
  checkedToBare: 0.85,
} as const;

export const BARE = 'bare Express';
export const DISTINCT = 'distinct tokens';
export const UNCHECKED = 'requireAccessToken HS256';
export const CHECKED = 'requireAccessToken HS256, checkRevocation';
export const SESSION_STORE = 'express-session + connect-redis';

/** A guard server's kind, or the session store's (bench/servers/session.ts). */
export type ContenderKind = GuardKind | 'session';

export interface GuardContenderResult {
  name: string;
  kind: ContenderKind;
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
  /** The session store: what its Redis did per guarded request over warm-up and rounds. */
  sessionRedis?: SessionRedisUsage | undefined;
}

export interface GuardData {
  connections: number;
  rounds: number;
  duration: number;
  contenders: GuardContenderResult[];
  verifyCosts: VerifyCost[];
}

function probeSummary(results: readonly ProbeResult[] | undefined): string {
  if (!results) return '-';
  const letThrough = results.filter((r) => !r.refused).map((r) => `${r.name}: ${r.status}`);
  const refused = `${results.length - letThrough.length}/${results.length}`;
  return letThrough.length === 0 ? refused : `${refused} (let through: ${letThrough.join('; ')})`;
}

export function guardTables(data: GuardData): Table[] {
  const pools = [...new Set(data.contenders.filter((c) => c.tokens > 1).map((c) => c.tokens))];
  const throughput: Table = {
    title: `Guarded GET /me: ${data.connections} connections, ${data.rounds} alternating rounds of ${data.duration} s, median`,
    head: [
      'contender',
      'req/s',
      'rounds (req/s)',
      'x bare',
      'x bare per round',
      'added us/req',
      'p50 ms',
      'p99 ms',
      'forged tokens refused',
    ],
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
      ...pools.map(
        (n) =>
          `"${DISTINCT}": a different token on every request, ${whole(n)} in turn, compared with bare Express sent the same tokens.`,
      ),
      ...data.contenders
        .filter((c) => c.revocation)
        .map(
          (c) =>
            `"checkRevocation": the view of a RedisSessionStore's revocation record` +
            ` (XREAD BLOCK on its own connection) holding ${whole(c.revocation!.viewSize)} revoked sessions; no Redis command per request.`,
        ),
      ...data.contenders.filter((c) => c.sessionRedis).map((c) => sessionNote(c.sessionRedis!)),
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

function sessionNote(usage: SessionRedisUsage): string {
  const commands = Object.entries(usage.commandsPerRequest)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.toUpperCase()} ${fixed(n, 2)}`)
    .join(', ');
  return (
    `"${SESSION_STORE}": express-session (resave false, saveUninitialized false) over connect-redis and node-redis v5` +
    ` on a private redis-server, the session's cookie on every request (compared with bare Express sent the bearer token);` +
    ` per guarded request its Redis ran ${commands || 'nothing'} and moved ${whole(usage.bytesInPerRequest + usage.bytesOutPerRequest)}` +
    ` bytes (${whole(usage.requests)} requests, warm-up included). Its Redis shares the 2 cores with the server and autocannon.`
  );
}

/** The checkRevocation contender's rows: its cost beside requireAccessToken alone and bare Express, and its refusal. */
function checkedTargets(c: GuardContenderResult, unchecked: GuardContenderResult | undefined, clean: boolean): Row[] {
  const rows: Row[] = [];
  if (unchecked) {
    const ratio = c.summary.rps / unchecked.summary.rps;
    rows.push(
      row(
        'guard',
        `${CHECKED} / ${UNCHECKED} (per round)`,
        `${fixed(ratio, 3)} (${pairedText(pairedRatio(c.summary, unchecked.summary))})`,
        `>= ${fixed(GUARD_TARGETS.checkedToUnchecked, 2)}`,
        clean && ratio >= GUARD_TARGETS.checkedToUnchecked,
      ),
    );
  }
  rows.push(
    row(
      'guard',
      `${CHECKED} / bare Express (per round)`,
      `${fixed(c.ratioToBare, 3)} (${pairedText(c.pairedRatio)})`,
      `>= ${fixed(GUARD_TARGETS.checkedToBare, 2)}`,
      clean && c.ratioToBare >= GUARD_TARGETS.checkedToBare,
    ),
  );
  const { viewSize, revokedAnswer: answer } = c.revocation!;
  rows.push(
    row(
      'guard',
      `${CHECKED}: a revoked session's token (view of ${whole(viewSize)} revocations)`,
      answer,
      '401 token_revoked',
      answer === '401 token_revoked',
    ),
  );
  return rows;
}

export function guardTargets(data: GuardData): Row[] {
  const find = (name: string): GuardContenderResult | undefined => data.contenders.find((c) => c.name === name);
  const rows: Row[] = [];
  for (const c of data.contenders) {
    if (c.kind === 'session') {
      const unchecked = find(UNCHECKED);
      const versus = unchecked
        ? `; requireAccessToken HS256 ${fixed(unchecked.summary.rps / c.summary.rps, 2)}x it`
        : '';
      rows.push(
        row(
          'guard',
          `${SESSION_STORE} / bare Express (per round)`,
          `${fixed(c.ratioToBare, 3)} (${pairedText(c.pairedRatio)})${versus}`,
        ),
      );
      continue;
    }
    if (c.kind !== 'requireAccessToken') continue;
    const alg = c.algorithm!;
    const clean = c.summary.non2xx + c.summary.errors === 0;
    const measured = `${fixed(c.ratioToBare, 3)} (${pairedText(c.pairedRatio)})`;
    if (c.tokens > 1) {
      rows.push(
        row(
          'guard',
          `requireAccessToken ${alg}, ${DISTINCT} / bare Express (per round)`,
          measured,
          `>= ${fixed(GUARD_TARGETS.distinctToBare, 2)}`,
          clean && c.ratioToBare >= GUARD_TARGETS.distinctToBare,
        ),
      );
      continue;
    }
    if (c.revocation) {
      rows.push(...checkedTargets(c, find(UNCHECKED), clean));
    } else if (alg === 'HS256') {
      rows.push(
        row(
          'guard',
          'requireAccessToken HS256, same token / bare Express (per round)',
          measured,
          `>= ${fixed(GUARD_TARGETS.ratioToBare, 2)}`,
          clean && c.ratioToBare >= GUARD_TARGETS.ratioToBare,
        ),
      );
      const ejwt = find('express-jwt HS256');
      const bare = find(c.baseline);
      if (ejwt && bare) {
        // A guard that cost nothing would reach bare/express-jwt: on a machine where Express itself is slow, that is below 4x.
        const times = c.summary.rps / ejwt.summary.rps;
        const ceiling = bare.summary.rps / ejwt.summary.rps;
        rows.push(
          row(
            'guard',
            'requireAccessToken HS256 / express-jwt HS256 (per round; ceiling: bare / express-jwt)',
            `${fixed(times, 2)}x (${pairedText(pairedRatio(c.summary, ejwt.summary))}; ceiling ${fixed(ceiling, 2)}x)`,
            `>= ${GUARD_TARGETS.timesExpressJwt}x`,
            clean && times >= GUARD_TARGETS.timesExpressJwt,
          ),
        );
      }
    } else {
      const ejwt = find(`express-jwt ${alg}`);
      const versus = ejwt ? `; ${fixed(c.summary.rps / ejwt.summary.rps, 2)}x express-jwt` : '';
      rows.push(
        row('guard', `requireAccessToken ${alg}, same token / bare Express (per round)`, `${measured}${versus}`),
      );
    }
    const refused = c.probes?.filter((p) => p.refused).length ?? 0;
    const total = c.probes?.length ?? 0;
    rows.push(
      row(
        'guard',
        `${c.revocation ? CHECKED : `requireAccessToken ${alg}`}: forged tokens refused (401)`,
        `${refused}/${total}`,
        'all',
        total > 0 && refused === total,
      ),
    );
  }
  return rows;
}
