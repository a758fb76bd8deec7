// One description of a table serves the page, the CSV file and the PDF report,
// so all three show the same rows in the same order.
import { buildCsv, type CsvCell } from './csv';
import type { PdfBlock } from './pdf';

export interface Column<Row> {
  id: string;
  /** Header on screen and in the PDF. */
  header: string;
  /** Header in the CSV file, with its unit, e.g. "avg_speed_mph"; defaults to `header`. */
  csvHeader?: string;
  /** The raw value: what the CSV holds and what sorting compares. */
  value: (row: Row) => CsvCell;
  /** The value as shown; defaults to the raw value as text ("—" when missing). */
  format?: (row: Row) => string;
  align?: 'left' | 'right';
}

export interface TableSpec<Row> {
  title: string;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
}

export function displayCell<Row>(column: Column<Row>, row: Row): string {
  if (column.format) return column.format(row);
  const value = column.value(row);
  if (value == null || (typeof value === 'number' && !Number.isFinite(value))) return '—';
  return String(value);
}

export function tableCsv<Row>(table: TableSpec<Row>): string {
  return buildCsv(
    table.columns.map((c) => c.csvHeader ?? c.header),
    table.rows.map((row) => table.columns.map((c) => c.value(row))),
  );
}

/** The table as a PDF report block: the text as shown, numbers aligned right. */
export function pdfTableBlock<Row>(table: TableSpec<Row>, title = table.title): PdfBlock {
  const { head, body } = tableText(table);
  return { kind: 'table', title, head, body, align: table.columns.map((c) => c.align ?? 'left') };
}

/** Header and body as shown (the PDF's table). */
export function tableText<Row>(table: TableSpec<Row>): { head: string[]; body: string[][] } {
  return {
    head: table.columns.map((c) => c.header),
    body: table.rows.map((row) => table.columns.map((c) => displayCell(c, row))),
  };
}
