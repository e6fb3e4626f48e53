/**
 * The demo page (issue #9): `GET /` and its files from `public/`, plus the
 * browser client itself at `/client/<name>.js`. The sample app runs its
 * TypeScript through tsx with no build step, so the client's sources
 * (`lib/client/<name>.ts`) are transpiled on first request with
 * TypeScript's `transpileModule` (types stripped, nothing bundled: the
 * browser follows the client's own `./x.js` imports) and kept in memory.
 * Nothing here is inline: helmet's default Content-Security-Policy
 * (`script-src 'self'`) stays on.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const CLIENT_DIR = fileURLToPath(new URL('../lib/client/', import.meta.url));

/** A file name the client may have: lower-case words, no dots or slashes (so no path can escape). */
const MODULE_NAME = /^([a-z][a-z0-9-]*)\.js$/;

/** The client's module names (`index`, `refresh`...), read once. */
let names: Promise<Set<string>> | undefined;
/** Transpiled modules by name: each source is read and compiled once per process. */
const compiled = new Map<string, Promise<string>>();

async function clientModules(): Promise<Set<string>> {
  names ??= readdir(CLIENT_DIR).then(
    (files) =>
      new Set(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')).map((file) => file.slice(0, -3))),
  );
  return names;
}

async function transpile(name: string): Promise<string> {
  const fileName = `${CLIENT_DIR}${name}.ts`;
  const source = await readFile(fileName, 'utf8');
  // Loaded on the first request only (it takes a moment), from the dev dependencies `npm install` brings.
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true },
  });
  return outputText;
}

/** The JavaScript of `lib/client/<name>.ts`, or `undefined` if the client has no such module. */
export async function clientModule(file: string): Promise<string | undefined> {
  const name = MODULE_NAME.exec(file)?.[1];
  if (name === undefined || !(await clientModules()).has(name)) return undefined;
  let text = compiled.get(name);
  if (text === undefined) {
    text = transpile(name);
    compiled.set(name, text);
    // A failed read or compile is not remembered: the next request tries again.
    text.catch(() => {
      compiled.delete(name);
    });
  }
  return text;
}

export function demoPage(): Router {
  const router = Router();
  // index.html, demo.js, demo.css...; revalidated on each load (no-cache), so an edit shows at once.
  router.use(express.static(PUBLIC_DIR, { index: 'index.html', cacheControl: true, maxAge: 0, redirect: false }));
  router.get('/client/:file', async (req, res, next) => {
    const text = await clientModule(req.params.file);
    if (text === undefined) {
      next();
      return;
    }
    res.type('text/javascript; charset=utf-8').set('Cache-Control', 'no-cache').send(text);
  });
  return router;
}
