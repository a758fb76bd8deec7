import { describe, expect, it } from 'vitest';
import { BOM, buildCsv, csvCell, parseCsv } from './csv';

describe('csvCell', () => {
  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
    expect(csvCell(' padded ')).toBe('" padded "');
    expect(csvCell('plain text')).toBe('plain text');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('writes numbers as they are, and nothing for missing values', () => {
    expect(csvCell(-12.345678901234)).toBe('-12.345678901234');
    expect(csvCell(1234567)).toBe('1234567');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(Number.POSITIVE_INFINITY)).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(true)).toBe('true');
  });
});

describe('buildCsv', () => {
  it('starts with a BOM, ends every row with CRLF', () => {
    const text = buildCsv(['bucket', 'avg_speed (mph)'], [['2026-01-01', 55.5], ['2026-01-02', null]]);
    expect(text.startsWith(BOM)).toBe(true);
    expect(text).toBe(`${BOM}bucket,avg_speed (mph)\r\n2026-01-01,55.5\r\n2026-01-02,\r\n`);
    expect(buildCsv(['a'], [], false)).toBe('a\r\n');
  });

  it('round-trips through parseCsv', () => {
    const rows = [
      ['Main St, north', 3.25, 'he said "slow"'],
      ['multi\nline', -4, '=cmd'],
      ['', null, 'ünïcødé — ok'],
    ];
    const parsed = parseCsv(buildCsv(['name', 'value', 'note'], rows));
    expect(parsed).toEqual([
      ['name', 'value', 'note'],
      ['Main St, north', '3.25', 'he said "slow"'],
      ['multi\nline', '-4', "'=cmd"],
      ['', '', 'ünïcødé — ok'],
    ]);
  });
});
