import type { Row } from './rows.js';
import type { Table } from './table.js';

/** What a section hands back: tables to print, target rows, and its data for latest.json and the chart. */
export interface SectionOutput<T> {
  tables: Table[];
  targets: Row[];
  data: T;
}
