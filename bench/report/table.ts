/** Tables of results, printed aligned on a terminal or as Markdown for the README. */
import type { Row } from './rows.js';

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  /** Lines printed under the table. */
  notes?: string[];
  /** Columns aligned right (numbers). */
  numeric?: number[];
}

export function verdict(pass: boolean | undefined): string {
  if (pass === undefined) return 'info';
  return pass ? 'PASS' : 'FAIL';
}

/** The targets table: every figure that has a target, beside it. */
export function targetsTable(rows: readonly Row[]): Table {
  return {
    title: 'Targets',
    head: ['section', 'what', 'measured', 'target', 'result'],
    rows: rows.map((r) => [r.section, r.what, r.measured, r.target || '-', verdict(r.pass)]),
  };
}

export function renderText(table: Table): string {
  const all = [table.head, ...table.rows];
  const widths = table.head.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (table.numeric?.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [`== ${table.title} ==`, line(table.head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const cells of table.rows) out.push(line(cells));
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

const escape = (cell: string): string => cell.replace(/\|/g, '\\|');

export function renderMarkdown(table: Table): string {
  const align = table.head.map((_, i) => (table.numeric?.includes(i) ? '---:' : '---'));
  const out = [
    `**${table.title}**`,
    '',
    `| ${table.head.map(escape).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...table.rows.map((cells) => `| ${cells.map(escape).join(' | ')} |`),
  ];
  if (table.notes?.length) out.push('', ...table.notes.map((note) => `- ${note}`));
  return out.join('\n');
}
