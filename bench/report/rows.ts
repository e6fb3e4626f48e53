/** A line of the results table: what was measured, beside its target. */
import type { Section } from '../options.js';
import type { Table } from './table.js';

export interface Row {
  section: Section;
  what: string;
  measured: string;
  /** Empty for a figure reported without a target. */
  target: string;
  /** undefined: no target. */
  pass: boolean | undefined;
}

export function row(section: Section, what: string, measured: string, target = '', pass?: boolean): Row {
  return { section, what, measured, target, pass };
}

/** What a section hands back: tables to print, target rows, and its data for latest.json and the chart. */
export interface SectionOutput<T> {
  tables: Table[];
  targets: Row[];
  data: T;
}
