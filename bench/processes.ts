/**
 * Everything the bench starts outside its own process: server processes
 * (`bench/servers/*.ts`, forked with tsx) and private redis-servers. Each is
 * registered for cleanup, which runs at the end, on an error, and on
 * SIGINT/SIGTERM. A shared Redis (e.g. 127.0.0.1:6379) is never used.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisServer } from '../tools/redis-server.js';
import { CONFIG_VARIABLE, type Counters, type ServerMessage, type StatsRequest } from './servers/serve.js';

export type ServerKind = 'guard' | 'refresh' | 'login' | 'session';

export interface ServerHandle {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  pid: number;
  /** The server's counters (requests it handled, refreshes, ...). */
  counters(): Promise<Counters>;
  stop(): Promise<void>;
}

const cleanups = new Set<() => Promise<void>>();
let profileDir: string | undefined;

/**
 * From now on, servers run with --cpu-prof and write their profiles into
 * `dir/<label>/` when stopped: one per thread, the main thread's named `CPU.*.0.*.cpuprofile`
 * (tsx runs its loader in a second thread).
 */
export function profileServersInto(dir: string): void {
  profileDir = dir;
}

/** Stops everything still running; safe to call more than once. */
export async function cleanupAll(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((cleanup) => cleanup()));
}

let signalsHooked = false;
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping servers`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Forks `bench/servers/<kind>.ts` with `config` and resolves once it listens; `label` names its profile. */
export async function startServer(kind: ServerKind, config: object, label: string = kind): Promise<ServerHandle> {
  hookSignals();
  const script = fileURLToPath(new URL(`./servers/${kind}.ts`, import.meta.url));
  const profile =
    profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, label.replace(/[^\w.-]+/g, '-'))}`];
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx', ...profile],
    env: { ...process.env, [CONFIG_VARIABLE]: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = (): Promise<void> => {
    cleanups.delete(stop);
    return stopChild(child);
  };
  cleanups.add(stop);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: ${kind} server did not start within 20 s`)), 20_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`bench: ${kind} server exited with ${String(code)} before listening`));
    };
    child.once('exit', onExit);
    child.on('message', (message: ServerMessage) => {
      if (message.type !== 'listening') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message.port);
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const counters = (): Promise<Counters> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: ${kind} server did not send its counters`)), 5000);
      const onMessage = (message: ServerMessage): void => {
        if (message.type !== 'stats') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message.counters);
      };
      child.on('message', onMessage);
      const request: StatsRequest = { type: 'stats' };
      child.send(request);
    });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, counters, stop };
}

export interface PrivateRedis {
  /** `redis://127.0.0.1:<free port>` */
  url: string;
  stop(): Promise<void>;
}

/** A private redis-server (free port, no persistence), stopped at cleanup if not before. */
export async function startRedis(): Promise<PrivateRedis> {
  hookSignals();
  const server = await RedisServer.start();
  const stop = async (): Promise<void> => {
    cleanups.delete(stop);
    await server.stop();
  };
  cleanups.add(stop);
  return { url: server.url, stop };
}
