// CSV for spreadsheets: RFC 4180 quoting, CRLF rows, a UTF-8 byte-order mark so
// Excel reads the file as UTF-8, and text that a spreadsheet would run as a
// formula defused with a leading apostrophe (OWASP "CSV injection").

export type CsvCell = string | number | boolean | null | undefined;

/** The byte-order mark: Excel opens a CSV as UTF-8 only when the file starts with it. */
export const BOM = '\uFEFF';

// =, +, - and @ start a formula; tab and carriage return can smuggle one past a check.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One cell as CSV text. Numbers are written as they are (no rounding, grouping or
 * unit), so a spreadsheet reads them as numbers; missing and non-finite are empty. */
export function csvCell(value: CsvCell): string {
  if (value == null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole file: a header row, then one line per row, each ended by CRLF. */
export function buildCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[], bom = true): string {
  const lines = [header, ...rows].map((row) => row.map(csvCell).join(','));
  return `${bom ? BOM : ''}${lines.join('\r\n')}\r\n`;
}

/**
 * Reads CSV text back into rows of strings (quotes removed, "" unescaped, a BOM
 * dropped). The inverse of buildCsv for checks and tests; not a general parser
 * for other dialects.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = text.startsWith(BOM) ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      // CRLF ends the row on the \n
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += ch;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
