// Typed lint for the TypeScript of lib/, test/, sample-app/, bench/ and tools/.
// Run from the repo root: `npm run lint` (eslint --config .ci/eslint.config.js .).
// With --config, ESLint 9 takes the cwd as its base path (files outside it are
// ignored, and patterns would be read against it), so every block pins
// `basePath` to the repo root: the patterns mean the same from any cwd that
// contains the repo.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const typescript = ['{lib,test,sample-app,bench,examples,tools}/**/*.{ts,mts,cts}'];

export default defineConfig(
  {
    name: 'etp/ignores',
    basePath: root,
    ignores: ['dist/', 'node_modules/', '.tmp/', 'coverage/', '**/*.d.ts'],
  },
  {
    name: 'etp/config-file',
    basePath: root,
    files: ['.ci/*.js'],
    extends: [js.configs.recommended],
  },
  {
    name: 'etp/typescript',
    basePath: root,
    files: typescript,
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: root,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // Numbers and booleans read fine in messages such as `(got ${size})`.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Store methods are `async` so that a throw becomes a rejection, awaited or not.
      '@typescript-eslint/require-await': 'off',
      // `(req, res) => res.json(x)` is idiomatic Express.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // lib validates what untyped (JavaScript) callers pass at every boundary,
      // e.g. `options ?? fail()`, `client?.sendCommand`: checks the types call redundant.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // With noUncheckedIndexedAccess, `match[1]!` after a matching regex is the honest spelling.
      '@typescript-eslint/no-non-null-assertion': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    name: 'etp/tests',
    basePath: root,
    files: ['test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: {
      // chai: expect(x).to.be.true
      '@typescript-eslint/no-unused-expressions': 'off',
      // jsonwebtoken types payloads as `string | object`, so a test's `jwt.sign({ sub })`
      // reads as the deprecated String#sub.
      '@typescript-eslint/no-deprecated': 'off',
      // `String(value)` as an assertion label or a log line is fine outside lib/.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
);
