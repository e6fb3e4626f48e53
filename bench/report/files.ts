/**
 * Where results go: latest.json and chart.svg in bench/results/ for a full
 * run, in .tmp/bench-results/ (ignored by git) for a partial one, each
 * written to a .tmp file first and then renamed, so a crash never leaves half
 * a file; and the results block of bench/README.md, between its markers.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const PARTIAL_RESULTS_DIR = fileURLToPath(new URL('../../.tmp/bench-results/', import.meta.url));
export const README = fileURLToPath(new URL('../README.md', import.meta.url));
const START = '<!-- bench:results:start (written by npm run bench; edits here are replaced) -->';
const END = '<!-- bench:results:end -->';

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Writes latest.json and chart.svg into `dir`; returns their paths. */
export function writeResults(dir: string, json: unknown, svg: string): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: `${dir}latest.json`, svg: `${dir}chart.svg` };
  writeAtomically(paths.json, `${JSON.stringify(json, null, 2)}\n`);
  writeAtomically(paths.svg, svg);
  return paths;
}

/** Replaces the block between the markers; false (and nothing written) if the README has no markers. */
export function updateReadme(markdown: string): boolean {
  let text: string;
  try {
    text = readFileSync(README, 'utf8');
  } catch {
    return false;
  }
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return false;
  writeAtomically(README, `${text.slice(0, start + START.length)}\n\n${markdown.trim()}\n\n${text.slice(end)}`);
  return true;
}

export const README_MARKERS = { START, END } as const;
