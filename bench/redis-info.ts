/**
 * Reading Redis INFO: fields such as `used_memory`, and per-command call
 * counts from `commandstats`. Redis 7 counts the commands a Lua script runs
 * (`redis.call`) in commandstats and in total_commands_processed, just as if
 * a client had sent them; only EVAL/EVALSHA show what a client sent.
 */

export interface RawSender {
  sendCommand(args: string[]): Promise<unknown>;
}

export type Info = Record<string, string>;

/** INFO of the given sections (Redis 7 takes several at once). */
export async function readInfo(client: RawSender, ...sections: string[]): Promise<Info> {
  const text = await client.sendCommand(['INFO', ...sections]);
  if (typeof text !== 'string') throw new Error('bench: INFO did not answer a string');
  const info: Info = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) info[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return info;
}

export function infoNumber(info: Info, field: string): number {
  const value = Number(info[field]);
  if (!Number.isFinite(value)) throw new Error(`bench: INFO has no numeric ${field}`);
  return value;
}

/** `cmdstat_hset:calls=3,usec=...` -> `{ hset: 3 }` (subcommands as `script|load`). */
export function commandCalls(info: Info): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [field, value] of Object.entries(info)) {
    if (!field.startsWith('cmdstat_')) continue;
    const match = /(?:^|,)calls=(\d+)/.exec(value);
    if (match) calls.set(field.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** Calls made between two snapshots, per command, those with none left out. */
export function callsBetween(before: Info, after: Info): Map<string, number> {
  const start = commandCalls(before);
  const delta = new Map<string, number>();
  for (const [name, count] of commandCalls(after)) {
    const made = count - (start.get(name) ?? 0);
    if (made > 0) delta.set(name, made);
  }
  return delta;
}

/** One command's line of `INFO commandstats`; zeros when the command has not run. */
export interface CommandStat {
  calls: number;
  /** Microseconds Redis spent running it, in total (a script's: everything it ran). */
  usec: number;
  rejectedCalls: number;
  failedCalls: number;
}

/** `cmdstat_evalsha:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0` -> its numbers. */
export function commandStat(info: Info, command: string): CommandStat {
  const line = info[`cmdstat_${command}`] ?? '';
  const field = (name: string): number => Number(new RegExp(`(?:^|,)${name}=(\\d+)`).exec(line)?.[1] ?? 0);
  return {
    calls: field('calls'),
    usec: field('usec'),
    rejectedCalls: field('rejected_calls'),
    failedCalls: field('failed_calls'),
  };
}

/** `after - before`, field by field. */
export function statBetween(before: CommandStat, after: CommandStat): CommandStat {
  return {
    calls: after.calls - before.calls,
    usec: after.usec - before.usec,
    rejectedCalls: after.rejectedCalls - before.rejectedCalls,
    failedCalls: after.failedCalls - before.failedCalls,
  };
}

/**
 * used_memory once two readings 250 ms apart agree (Redis finishes rehashing
 * its tables in the background); after 5 s, the last reading.
 */
export async function settledUsedMemory(client: RawSender): Promise<number> {
  let last = infoNumber(await readInfo(client, 'memory'), 'used_memory');
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = infoNumber(await readInfo(client, 'memory'), 'used_memory');
    if (now === last) return now;
    last = now;
  }
  return last;
}
