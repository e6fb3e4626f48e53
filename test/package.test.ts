/**
 * Tests what users install: `npm pack` (prepack builds dist/), the tarball
 * unpacked into consumer projects under .tmp/, and the package used from
 * ESM, CommonJS (require(esm), Node >= 20.19) and TypeScript. The consumers
 * live inside the repo so that Node walks up to its node_modules for
 * jsonwebtoken and the type packages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import * as source from '../lib/index.js';
import {
  clientConsumer,
  consumers,
  domConsumer,
  PACKAGE,
  storeContractConsumer,
  typescriptConsumer,
  type ConsumerReport,
} from './helpers/package-consumers.js';

const root = resolve(import.meta.dirname, '..');
function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 150_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the packed package', function () {
  // Generous: npm pack, tsc and the consumers' processes run slowly on a busy machine.
  this.timeout(180_000);

  let work: string;
  let tarball: string;
  let files: string[];

  before(function () {
    mkdirSync(join(root, '.tmp'), { recursive: true });
    work = mkdtempSync(join(root, '.tmp', 'package-test-'));
    execFileSync('npm', ['pack', '--pack-destination', work, '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    expect(packed, 'npm pack made one tarball').to.have.lengthOf(1);
    tarball = join(work, packed[0]!);
    files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', timeout: 10_000 })
      .split('\n')
      .filter(Boolean)
      .map((entry) => entry.replace(/^package\//, ''));
    for (const name of [...Object.keys(consumers), 'ts', 'client', 'ts-dom', 'store']) {
      const target = join(work, name, 'node_modules', PACKAGE);
      mkdirSync(target, { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], { timeout: 10_000 });
    }
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('tarball', function () {
    it('holds the built entry point and its types', function () {
      expect(files).to.include.members(['package.json', 'dist/index.js', 'dist/index.d.ts']);
    });

    it('holds no sources, tests, sample app or packed leftovers', function () {
      const unwanted = files.filter(
        (file) =>
          /^(lib|test|sample-app|bench|\.ci|\.tmp|node_modules)\//.test(file) ||
          /\.tgz$/.test(file) ||
          (/\.ts$/.test(file) && !file.endsWith('.d.ts')),
      );
      expect(unwanted).to.deep.equal([]);
    });

    it('has one built file per lib/ source: nothing stale in dist/', function () {
      const built = files
        .filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
        .map((file) => file.slice('dist/'.length, -'.js'.length))
        .sort();
      const sources = (readdirSync(join(root, 'lib'), { recursive: true }) as string[])
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
        .map((file) => file.replace(/\\/g, '/').slice(0, -'.ts'.length))
        .sort();
      expect(built, 'dist/ has a file lib/ no longer has: rm -rf dist and build again').to.deep.equal(sources);
    });

    it('declares types first in exports["."], ["./client"] and ["./store-contract"], and every entry it names is packed', function () {
      const manifest = JSON.parse(readFileSync(join(work, 'esm', 'node_modules', PACKAGE, 'package.json'), 'utf8')) as {
        exports: Record<string, Record<string, string> | string>;
        main: string;
        types: string;
      };
      const named = [manifest.main, manifest.types];
      for (const entry of ['.', './client', './store-contract']) {
        const conditions = manifest.exports[entry];
        expect(conditions, entry).to.be.an('object');
        expect(Object.keys(conditions as Record<string, string>)[0], entry).to.equal('types');
        named.push(...Object.values(conditions as Record<string, string>));
      }
      for (const path of named) expect(files, path).to.include(path.replace(/^\.\//, ''));
    });

    it('ships a client that imports nothing but its own relative files (no node: modules, no server code)', function () {
      const client = files.filter((file) => file.startsWith('dist/client/') && file.endsWith('.js'));
      expect(client).to.include('dist/client/index.js');
      const dir = join(work, 'client', 'node_modules', PACKAGE);
      for (const file of client) {
        const code = readFileSync(join(dir, file), 'utf8');
        const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map(
          (match) => match[1]!,
        );
        for (const specifier of specifiers)
          expect(specifier, `${file} imports ${specifier}`).to.match(/^\.\/[\w-]+\.js$/);
        expect(code, file).to.not.match(/\brequire\s*\(|node:|\bprocess\.|\bBuffer\b/);
      }
    });
  });

  for (const [name, consumer] of Object.entries(consumers)) {
    it(`works from ${consumer.label} consumer`, function () {
      const dir = join(work, name);
      writeFileSync(join(dir, 'package.json'), JSON.stringify(consumer.packageJson));
      writeFileSync(join(dir, consumer.file), consumer.code);
      const result = run(process.execPath, [consumer.file], dir);
      expect(result.status, result.stderr).to.equal(0);
      const report = JSON.parse(result.stdout.trim()) as ConsumerReport;
      const sourceExports = Object.keys(source).sort();
      expect(report).to.deep.equal({
        format: name,
        exports: sourceExports,
        tokenType: 'Bearer',
        expiresIn: 900,
        userId: 'user-1',
        sameSession: true,
        claims: { role: 'admin' },
        refreshAsAccess: { name: 'TokenInvalidError', code: 'token_invalid', status: 401, isBase: true },
        middleware: { userId: 'user-1', nextCalledWith: 0 },
        wiring: 'express-token-pair: requireAccessToken(auth) needs the object returned by createTokenAuth()',
      });
    });
  }

  it('runs the exported store contract (express-token-pair/store-contract) under node:test, and fails a broken store', function () {
    this.timeout(360_000);
    const dir = join(work, 'store');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'store-consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'contract.test.mjs'), storeContractConsumer);
    const counts = (env: NodeJS.ProcessEnv) => {
      const result = run(process.execPath, ['--test', '--test-reporter=tap', 'contract.test.mjs'], dir, {
        ...process.env,
        ...env,
      });
      const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(result.stdout)?.[1]);
      return { status: result.status, pass: count('pass'), fail: count('fail'), output: result.stdout + result.stderr };
    };
    const good = counts({ BROKEN: '0' });
    expect(good.status, good.output).to.equal(0);
    expect(good.fail, good.output).to.equal(0);
    expect(good.pass, 'every test of the contract ran').to.be.greaterThan(40);
    const broken = counts({ BROKEN: '1' });
    expect(broken.status, 'a broken store fails the contract').to.equal(1);
    expect(broken.fail, broken.output).to.be.within(1, 5); // the credential cut-off tests
    // The entry and what it imports: node:assert and node:crypto, our own files, no Express.
    const entry = join(dir, 'node_modules', PACKAGE, 'dist', 'store-contract');
    for (const file of readdirSync(entry).filter((name) => name.endsWith('.js'))) {
      const code = readFileSync(join(entry, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, ''); // not the doc comments' example
      const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map(
        (match) => match[1]!,
      );
      for (const specifier of specifiers) {
        expect(specifier, `${file} imports ${specifier}`).to.match(
          /^(\.\/[\w-]+\.js|\.\.\/(errors)\.js|node:(assert|crypto))$/,
        );
      }
    }
  });

  it('works from an ESM consumer of express-token-pair/client', function () {
    const dir = join(work, 'client');
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'client-consumer', private: true, type: 'module' }),
    );
    writeFileSync(join(dir, 'index.mjs'), clientConsumer);
    const result = run(process.execPath, ['index.mjs'], dir);
    expect(result.status, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout.trim())).to.deep.equal({
      status: 200,
      token: 'a2',
      calls: [
        ['https://api.test/me', null, 'Bearer a1', null],
        ['https://api.test/auth/refresh', 'include', null, 'cookie'],
        ['https://api.test/me', null, 'Bearer a2', null],
      ],
      isError: 'function',
    });
  });

  it('typechecks a browser-only consumer of express-token-pair/client (DOM lib, no @types/node)', function () {
    const dir = join(work, 'ts-dom');
    for (const [file, content] of Object.entries(domConsumer)) {
      writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(result.stdout + result.stderr).to.equal('');
    expect(result.status).to.equal(0);
  });

  it('typechecks a TypeScript consumer against the packed .d.ts files', function () {
    const dir = join(work, 'ts');
    for (const [file, content] of Object.entries(typescriptConsumer)) {
      writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(result.stdout + result.stderr).to.equal('');
    expect(result.status).to.equal(0);
  });
});
