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
