/**
 * The refresh section's data (RefreshData), its targets (REFRESH_TARGETS), and
 * how they are reported: the section's table and target rows.
 */
import { pairedText, type PairedRatio, type RoundsSummary } from '../load.js';
import type { RotationTally } from '../refresh-requests.js';
import { row, type Row } from '../report/rows.js';
import type { Table } from '../report/table.js';
import { fixed, whole } from '../stats.js';

export const REFRESH_TARGETS = { commandsPerRefresh: 1, ratioToBare: 0.4 } as const;

export interface RefreshData {
  population: number;
  connections: number;
  rounds: number;
  duration: number;
  bare: RoundsSummary;
  refresh: RoundsSummary;
  ratioToBare: number;
  pairedRatio: PairedRatio;
  /** Measured rounds only. */
  serverRefreshed: number;
  /** EVALSHA + EVAL calls / refreshes the server made, from commandstats. */
  clientCommandsPerRefresh: number;
  evalsha: number;
  eval: number;
  /** total_commands_processed (without INFO) / refreshes: Redis 7 counts script-run commands here too. */
  totalCommandsPerRefresh: number;
  /** Everything else commandstats counted, per refresh: run inside the script (see `monitor`). */
  otherCommandsPerRefresh: Record<string, number>;
  monitor: {
    refreshes: number;
    clientCommandsPerRefresh: Record<string, number>;
    scriptCommandsPerRefresh: Record<string, number>;
  };
  /** Every run, warm-up included: how the per-request setup behaved. */
  dynamicRequests: RotationTally;
  /** A token rotated out before the load, presented again after it. */
  reuseCheck: { status: number; error: string };
}

const list = (perOne: Record<string, number>): string =>
  Object.entries(perOne)
    .map(([name, n]) => `${name.toUpperCase()} ${fixed(n, 2)}`)
    .join(', ') || 'none';

export function refreshTables(data: RefreshData): Table[] {
  const line = (name: string, s: RoundsSummary, ratio: number, paired: string): string[] => [
    name,
    whole(s.rps),
    s.rounds.map(whole).join(' / '),
    fixed(ratio, 3),
    paired,
    fixed(s.p50, 2),
    fixed(s.p99, 2),
    whole(s.non2xx + s.errors),
  ];
  const { dynamicRequests: d } = data;
  return [
    {
      title: `POST /auth/refresh: ${data.population} sessions refreshed in turn, ${data.connections} connections, ${data.rounds} alternating rounds of ${data.duration} s, median`,
      head: [
        'contender',
        'req/s',
        'rounds (req/s)',
        'x bare',
        'x bare per round',
        'p50 ms',
        'p99 ms',
        'non-2xx + errors',
      ],
      numeric: [1, 3, 5, 6, 7],
      rows: [
        line('bare Express POST', data.bare, 1, '-'),
        line('refreshHandler + Redis', data.refresh, data.ratioToBare, pairedText(data.pairedRatio)),
      ],
      notes: [
        `Redis, measured rounds: ${whole(data.serverRefreshed)} refreshes, ${whole(data.evalsha)} EVALSHA + ${whole(data.eval)} EVAL` +
          ` = ${fixed(data.clientCommandsPerRefresh, 3)} client command(s) per refresh.`,
        `total_commands_processed per refresh: ${fixed(data.totalCommandsPerRefresh, 2)} (Redis 7 counts the script's own calls there too).`,
        `Run inside the script, per refresh (commandstats): ${list(data.otherCommandsPerRefresh)}.`,
        `MONITOR, ${data.monitor.refreshes} sequential refreshes: sent by a client ${list(data.monitor.clientCommandsPerRefresh)};` +
          ` run by Lua ${list(data.monitor.scriptCommandsPerRefresh)}.`,
        `Per-request setup (all runs): ${whole(d.responses2xx)} 2xx, ${whole(d.rotationsSeen)} new tokens seen, ${whole(d.non2xx)} non-2xx,` +
          ` ${whole(d.unexpectedBodies)} answers without a new token.`,
        `A token rotated out before the load, presented after it: ${data.reuseCheck.status} ${data.reuseCheck.error}.`,
      ],
    },
  ];
}

export function refreshTargets(data: RefreshData): Row[] {
  const monitorClient = Object.values(data.monitor.clientCommandsPerRefresh).reduce((a, b) => a + b, 0);
  const d = data.dynamicRequests;
  const clean = d.non2xx === 0 && d.unexpectedBodies === 0 && d.rotationsSeen === d.responses2xx;
  return [
    row(
      'refresh',
      'Redis commands sent per refresh (commandstats; MONITOR)',
      `${fixed(data.clientCommandsPerRefresh, 3)}; ${fixed(monitorClient, 2)}`,
      `exactly ${REFRESH_TARGETS.commandsPerRefresh}`,
      data.clientCommandsPerRefresh === REFRESH_TARGETS.commandsPerRefresh &&
        monitorClient === REFRESH_TARGETS.commandsPerRefresh,
    ),
    row(
      'refresh',
      'refresh req/s / bare Express POST (per round)',
      `${fixed(data.ratioToBare, 3)} (${pairedText(data.pairedRatio)})`,
      `>= ${fixed(REFRESH_TARGETS.ratioToBare, 2)}`,
      clean && data.ratioToBare >= REFRESH_TARGETS.ratioToBare,
    ),
    row('refresh', 'refresh p50 / p99 latency', `${fixed(data.refresh.p50, 2)} / ${fixed(data.refresh.p99, 2)} ms`),
    row(
      'refresh',
      'every session refreshed in turn, all answers 200 with a new token',
      `${whole(d.rotationsSeen)} of ${whole(d.responses2xx + d.non2xx)}`,
      'all',
      clean,
    ),
    row(
      'refresh',
      'rotated-out token presented again',
      `${data.reuseCheck.status} ${data.reuseCheck.error}`,
      '401 refresh_reused',
      data.reuseCheck.status === 401 && data.reuseCheck.error === 'refresh_reused',
    ),
  ];
}
