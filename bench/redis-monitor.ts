/**
 * Who sent which Redis command: MONITOR prints each one with its source,
 * a client's address or `lua` for a command a script ran.
 */
import type { RedisClient } from './redis-client.js';

export interface WatchedCommands {
  /** Command name (lower case) -> calls. */
  fromClients: Map<string, number>;
  fromScripts: Map<string, number>;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` while a second connection MONITORs, and counts what ran meanwhile. */
export async function watchCommands(client: RedisClient, work: () => Promise<void>): Promise<WatchedCommands> {
  const watcher = client.duplicate();
  watcher.on('error', () => undefined);
  const lines: string[] = [];
  try {
    await watcher.connect();
    await watcher.monitor((line) => {
      lines.push(line);
    });
    await work();
    await settle(200); // the last lines are still on their way
  } finally {
    watcher.destroy();
  }
  const watched: WatchedCommands = { fromClients: new Map(), fromScripts: new Map() };
  for (const line of lines) {
    // 1700000000.123456 [0 127.0.0.1:50000] "EVALSHA" "..."   or   [0 lua] "GET" "..."
    const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (!match) continue;
    const counts = match[1] === 'lua' ? watched.fromScripts : watched.fromClients;
    const name = match[2]!.toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return watched;
}
