/** A line of the results table: what was measured, beside its target. */
import type { Section } from '../options.js';

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
