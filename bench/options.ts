/**
 * Command line of `npm run bench`: which sections to run and how long.
 * Parsed once into a complete `BenchOptions`; a bad flag stops the run with
 * a message naming it.
 */
import { parseArgs } from 'node:util';

export const SECTIONS = ['guard', 'refresh', 'memory', 'redis', 'login'] as const;
export type Section = (typeof SECTIONS)[number];

export const ALGORITHMS = ['HS256', 'ES256', 'RS256'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface BenchOptions {
  sections: Section[];
  /** Seconds measured per round and contender. */
  duration: number;
  /** Seconds of load per contender before its first round (not measured). */
  warmup: number;
  rounds: number;
  /** autocannon connections for the guard and refresh sections. */
  connections: number;
  /** Access-token algorithms of the guard section. */
  algorithms: Algorithm[];
  /** Size of the token pool of the guard's distinct-token contenders; 0 leaves them out. */
  distinctTokens: number;
  /** Sessions refreshed in turn in the refresh section. */
  population: number;
  /** Sessions created in the memory section. */
  sessions: number;
  /** Sessions per user in the memory section's second variant. */
  sessionsPerUser: number;
  /** Sessions created in each cell of the redis section (1 and 100 per user). */
  redisSessions: number;
  /** auth.refresh calls timed per cell of the redis section. */
  redisRefreshes: number;
  /** GB (10^9 bytes) of sessions one Redis shard may hold, for the redis section's capacity plan. */
  shardMemoryGb: number;
  loginConnections: number;
  /** Seconds of the login storm. */
  loginDuration: number;
  bcryptCost: number;
  quick: boolean;
  /** Run servers with --cpu-prof, profiles into .tmp/bench-profiles/. */
  profile: boolean;
  /** Keep a full run's results out of bench/results and bench/README.md (into .tmp/bench-results). */
  scratch: boolean;
}

export const USAGE = `Usage: npm run bench -- [section...] [flags]

Sections (default: all): ${SECTIONS.join(', ')}

Flags:
  --duration <s>          seconds measured per round and contender (default 3)
  --warmup <s>            seconds of unmeasured load per contender first (default 2)
  --rounds <n>            rounds, alternating contenders A B C A B C ... (default 9, minimum 3)
  --connections <n>       autocannon connections, guard and refresh (default 32)
  --algorithms <list>     guard section algorithms (default HS256,ES256,RS256)
  --distinct-tokens <n>   guard: also run bare Express and requireAccessToken HS256 with a different
                          token on every request, from a pool of n (default 20000, more than
                          requireAccessToken's verified-token cache holds; 0 skips them)
  --population <n>        sessions refreshed in turn, refresh section (default 5000)
  --sessions <n>          sessions created, memory section (default 100000)
  --sessions-per-user <n> second memory variant (default 5; 1 skips it)
  --redis-sessions <n>    sessions created per cell, redis section (default 20000)
  --redis-refreshes <n>   refreshes timed per cell for Redis us/refresh, redis section (default 400)
  --shard-memory-gb <n>   GB of sessions per Redis shard in the redis section's capacity plan (default 25)
  --login-connections <n> connections of the login storm (default 8)
  --login-duration <s>    seconds of the login storm (default 10)
  --bcrypt-cost <n>       bcrypt cost of the sample app (default 10)
  --quick                 smoke run of a few seconds per section (small numbers, HS256 only)
  --profile               run each server with --cpu-prof; profiles go to .tmp/bench-profiles/
  --scratch               a full run that is only a try: results to .tmp/bench-results/, README untouched
                          (runs of some sections, --quick and --profile runs always go there)
  --help                  this text
`;

function integer(raw: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`bench: --${name} must be a whole number from ${min} to ${max} (got ${raw})`);
  }
  return value;
}

function seconds(raw: string | undefined, fallback: number, name: string, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > 600) {
    throw new TypeError(`bench: --${name} must be a number of seconds from ${min} to 600 (got ${raw})`);
  }
  return value;
}

function isSection(name: string): name is Section {
  return (SECTIONS as readonly string[]).includes(name);
}

function isAlgorithm(name: string): name is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(name);
}

/** Parses `process.argv.slice(2)`; returns `undefined` for `--help`. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      algorithms: { type: 'string' },
      'distinct-tokens': { type: 'string' },
      population: { type: 'string' },
      sessions: { type: 'string' },
      'sessions-per-user': { type: 'string' },
      'redis-sessions': { type: 'string' },
      'redis-refreshes': { type: 'string' },
      'shard-memory-gb': { type: 'string' },
      'login-connections': { type: 'string' },
      'login-duration': { type: 'string' },
      'bcrypt-cost': { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      scratch: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  for (const name of positionals) {
    if (!isSection(name)) throw new TypeError(`bench: unknown section ${name} (known: ${SECTIONS.join(', ')})`);
  }
  const sections = positionals.length === 0 ? [...SECTIONS] : SECTIONS.filter((s) => positionals.includes(s));
  const quick = values.quick;
  const algorithmList =
    values.algorithms?.split(',').map((a) => a.trim().toUpperCase()) ?? (quick ? ['HS256'] : [...ALGORITHMS]);
  for (const name of algorithmList) {
    if (!isAlgorithm(name)) throw new TypeError(`bench: unknown algorithm ${name} (known: ${ALGORITHMS.join(', ')})`);
  }
  const algorithms = ALGORITHMS.filter((a) => algorithmList.includes(a));
  if (!algorithms.includes('HS256'))
    throw new TypeError('bench: --algorithms must include HS256 (the targets are stated for it)');
  return {
    sections,
    duration: seconds(values.duration, quick ? 1 : 3, 'duration', 1),
    warmup: seconds(values.warmup, quick ? 1 : 2, 'warmup', 0),
    rounds: integer(values.rounds, quick ? 3 : 9, 'rounds', 3, 100),
    connections: integer(values.connections, 32, 'connections', 1, 1024),
    algorithms,
    distinctTokens: integer(values['distinct-tokens'], quick ? 12_000 : 20_000, 'distinct-tokens', 0, 1_000_000),
    population: integer(values.population, quick ? 500 : 5000, 'population', 100, 1_000_000),
    sessions: integer(values.sessions, quick ? 5000 : 100_000, 'sessions', 1000, 10_000_000),
    sessionsPerUser: integer(values['sessions-per-user'], 5, 'sessions-per-user', 1, 100),
    redisSessions: integer(values['redis-sessions'], quick ? 4000 : 20_000, 'redis-sessions', 1000, 1_000_000),
    redisRefreshes: integer(values['redis-refreshes'], quick ? 200 : 400, 'redis-refreshes', 50, 100_000),
    shardMemoryGb: integer(values['shard-memory-gb'], 25, 'shard-memory-gb', 1, 4096),
    loginConnections: integer(values['login-connections'], 8, 'login-connections', 1, 256),
    loginDuration: seconds(values['login-duration'], quick ? 2 : 10, 'login-duration', 1),
    bcryptCost: integer(values['bcrypt-cost'], 10, 'bcrypt-cost', 4, 15),
    quick,
    profile: values.profile,
    scratch: values.scratch,
  };
}
