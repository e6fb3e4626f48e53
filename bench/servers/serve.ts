/**
 * How every bench server runs: started by the parent with `fork`, its
 * settings in the BENCH_SERVER_CONFIG environment variable (JSON), it listens
 * on 127.0.0.1 on a free port and tells the parent that port over IPC. It
 * answers `{ type: 'stats' }` messages with its counters, and exits when the
 * parent goes away.
 */
import { createServer, type RequestListener } from 'node:http';

export type Counters = Record<string, number>;

/** Child to parent. */
export type ServerMessage = { type: 'listening'; port: number } | { type: 'stats'; counters: Counters };

/** Parent to child. */
export interface StatsRequest {
  type: 'stats';
}

export const CONFIG_VARIABLE = 'BENCH_SERVER_CONFIG';

/** The settings the parent passed (JSON; each server casts it to its own config type). */
export function serverConfig(): unknown {
  const raw = process.env[CONFIG_VARIABLE];
  if (raw === undefined || !process.send) {
    throw new Error('bench servers are started by bench/run.ts (no config or no IPC channel)');
  }
  return JSON.parse(raw);
}

function send(message: ServerMessage): void {
  process.send?.(message);
}

/** Listens and reports the port; `counters` is read on every stats request. */
export function serve(app: RequestListener, counters: () => Counters = () => ({})): void {
  const server = createServer(app);
  server.on('error', (error) => {
    console.error(`bench server: ${error.message}`);
    process.exit(1);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('bench server: no address');
    send({ type: 'listening', port: address.port });
  });
  process.on('message', (message: StatsRequest) => {
    if (message.type === 'stats') send({ type: 'stats', counters: counters() });
  });
  // Stopped by the parent, or the parent died: exit normally (so that --cpu-prof writes its profile).
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
}
