/** What the bench ran on and against, recorded with every result. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Machine {
  cpu: string;
  /** Cores this process may use. */
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  /** 1-minute load average when the run started: another tenant shows up here. */
  loadAverage: number;
  /** Commit of the code measured, `+dirty` when lib/ or sample-app/ had uncommitted changes. */
  commit: string;
  packages: Record<string, string>;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall through to os.cpus()
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function redisVersion(): string {
  const line = run(process.env.REDIS_SERVER ?? 'redis-server', ['--version']);
  return /v=(\S+)/.exec(line ?? '')?.[1] ?? 'not found';
}

function commit(): string {
  const head = run('git', ['rev-parse', '--short', 'HEAD']);
  if (head === undefined) return 'unknown';
  const dirty = run('git', ['status', '--porcelain', '--', 'lib', 'sample-app']);
  return dirty ? `${head}+dirty` : head;
}

/** The installed version (read from node_modules: some packages do not export package.json). */
function versionOf(name: string): string {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** 1-minute load average, two decimals. */
export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

export function describeMachine(): Machine {
  const packages: Record<string, string> = {};
  for (const name of [
    'express',
    'express-jwt',
    'passport',
    'passport-jwt',
    'jsonwebtoken',
    'autocannon',
    'redis',
    'bcryptjs',
  ]) {
    packages[name] = versionOf(name);
  }
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion(),
    loadAverage: loadAverage(),
    commit: commit(),
    packages,
  };
}
