/**
 * The machinery of test/drop-in.test.ts: the README's snippet, a child `tsc`
 * that type-checks the example files with exactOptionalPropertyTypes, and a
 * private project under .tmp/ that runs examples/drop-in.ts verbatim with
 * `express` mapped to Express 5 or Express 4 and `express-token-pair` to
 * lib/ (so no build is needed), started as a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';

/** The repository root. */
export const root = resolve(import.meta.dirname, '..', '..');
export const examples = join(root, 'examples');
const EXAMPLE_FILES = ['drop-in.ts', 'users.ts'];
/** Variables the example (or a parent shell) may read; the child gets only the ones a test sets. */
const VARIABLES = ['PORT', 'REDIS_URL', 'ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET', 'DEMO_PASSWORD', 'NODE_ENV'];

export interface Run {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<unknown>;
}

/** The first ```ts block of the README section "## Use it in your app". */
export function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use it in your app\n');
  expect(start, 'README section "## Use it in your app"').to.be.greaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const match = /^```ts\n([\s\S]*?)^```$/m.exec(section);
  expect(match, 'a ```ts block in that section').to.not.equal(null);
  return match![1]!;
}

/** Only `exactOptionalPropertyTypes` rejects this: `url` is `string | undefined`, the option `url?: string`. */
const CANARY =
  "import { createClient } from 'redis';\nexport const client = createClient({ url: process.env.REDIS_URL });\n";

export interface Typecheck {
  child: ChildProcess;
  dir: string;
  /** One entry per error, `path(line,col): error TS…: message`, paths from the repo root. */
  errors: Promise<string[]>;
}

/**
 * Type-checks the example files, and a canary, in a child `tsc` (so it runs
 * while the servers are being tested): the project's tsconfig, which is
 * strict, plus exactOptionalPropertyTypes.
 */
export function startTypecheck(): Typecheck {
  const dir = join(root, '.tmp', `drop-in-types-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'canary.ts'), CANARY);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { exactOptionalPropertyTypes: true, noEmit: true },
      files: [...EXAMPLE_FILES.map((file) => `../../examples/${file}`), 'canary.ts'],
      include: [],
    }),
  );
  // The compiler's own coverage is of no interest to `npm run coverage`.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_V8_COVERAGE'));
  const child = spawn(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const errors = once(child, 'exit').then(() =>
    text.split(/\n(?=\S)/).filter((entry) => /^\S+\(\d+,\d+\): error /.test(entry)),
  );
  return { child, dir, errors };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolvePort(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

/**
 * A directory that runs the example as its own little project: the example
 * files copied verbatim, `"type": "module"`, and node_modules/express a link
 * to the installed Express 5 (`express`) or Express 4 (`express4`).
 */
export function project(expressPackage: string): string {
  const dir = join(root, '.tmp', `drop-in-${expressPackage}-${randomBytes(4).toString('hex')}`);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'express-token-pair'), { recursive: true });
  for (const file of EXAMPLE_FILES) copyFileSync(join(examples, file), join(dir, file));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'drop-in', private: true, type: 'module' }));
  symlinkSync(join(root, 'node_modules', expressPackage), join(modules, 'express'), 'dir');
  writeFileSync(
    join(modules, 'express-token-pair', 'package.json'),
    JSON.stringify({ name: 'express-token-pair', type: 'module', exports: './index.js' }),
  );
  writeFileSync(
    join(modules, 'express-token-pair', 'index.js'),
    `export * from ${JSON.stringify(pathToFileURL(join(root, 'lib', 'index.ts')).href)};\n`,
  );
  // Test scaffolding, preloaded: a normal exit on SIGTERM, so V8 writes its coverage (npm run coverage).
  writeFileSync(join(dir, 'exit-on-sigterm.js'), "process.once('SIGTERM', () => process.exit (0));\n");
  return dir;
}

/** The major version of the `express` that code in `dir` imports. */
export function expressMajor(dir: string): number {
  const manifest = createRequire(join(dir, 'drop-in.ts')).resolve('express/package.json');
  return Number((JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version.split('.')[0]);
}

export function start(dir: string, env: Record<string, string>): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !VARIABLES.includes(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './exit-on-sigterm.js', 'drop-in.ts'], {
    cwd: dir,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { child, output: () => text, exited: once(child, 'exit') };
}

export function alive(run: Run): boolean {
  return run.child.exitCode === null && run.child.signalCode === null;
}

/** Polls `check` until it holds; `within` bounds the wait (generous: a busy machine starts and answers slowly). */
export async function waitFor(
  what: string,
  run: Run,
  check: () => boolean | Promise<boolean>,
  within = 30_000,
): Promise<void> {
  const deadline = performance.now() + within;
  while (!(await check())) {
    if (!alive(run)) throw new Error(`the server exited while waiting for ${what}:\n${run.output()}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${run.output()}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}
