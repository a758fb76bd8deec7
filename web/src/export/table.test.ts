import { describe, expect, it } from 'vitest';
import { BOM, parseCsv } from './csv';
import { exportFilename, isoDate, lastDateBefore } from './filename';
import { displayCell, tableCsv, tableText, type TableSpec } from './table';

interface Row {
  name: string;
  speed: number | null;
}

const table: TableSpec<Row> = {
  title: 'Speeds',
  columns: [
    { id: 'name', header: 'Segment', value: (r) => r.name },
    {
      id: 'speed',
      header: 'Avg speed',
      csvHeader: 'avg_speed_mph',
      value: (r) => r.speed,
      format: (r) => (r.speed == null ? '—' : `${Math.round(r.speed)} mph`),
    },
  ],
  rows: [
    { name: 'I-5, north', speed: 61.26 },
    { name: '=evil()', speed: null },
  ],
};

describe('table exports', () => {
  it('CSV holds raw values under unit headers, screen text the formatted ones', () => {
    const csv = tableCsv(table);
    expect(csv.startsWith(BOM)).toBe(true);
    expect(parseCsv(csv)).toEqual([
      ['Segment', 'avg_speed_mph'],
      ['I-5, north', '61.26'],
      ["'=evil()", ''],
    ]);
    expect(tableText(table)).toEqual({
      head: ['Segment', 'Avg speed'],
      body: [
        ['I-5, north', '61 mph'],
        ['=evil()', '—'],
      ],
    });
  });

  it('shows a dash for missing raw values without a formatter', () => {
    const column = { id: 'x', header: 'X', value: (r: { x: number | null }) => r.x };
    expect(displayCell(column, { x: null })).toBe('—');
    expect(displayCell(column, { x: Number.NaN })).toBe('—');
    expect(displayCell(column, { x: 3 })).toBe('3');
  });
});

describe('exportFilename', () => {
  it('names the kind and the first and last day of the range', () => {
    const range = { start: '2026-11-19T00:00:00Z', end: '2026-11-27T00:00:00Z' };
    expect(exportFilename(['summary', 'day'], range, 'csv')).toBe('trafficcast-summary-day-2026-11-19_2026-11-26.csv');
    expect(exportFilename(['Accuracy by horizon'], range, 'pdf')).toBe(
      'trafficcast-accuracy-by-horizon-2026-11-19_2026-11-26.pdf',
    );
    expect(exportFilename(['system', '../../etc'], null, 'csv')).toBe('trafficcast-system-etc.csv');
    expect(exportFilename(['system'], { start: '2026-11-19T10:00:00Z', end: '2026-11-19T10:00:00.001Z' }, 'pdf')).toBe(
      'trafficcast-system-2026-11-19.pdf',
    );
  });

  it('reads UTC dates', () => {
    expect(isoDate('2026-03-01T23:30:00-02:00')).toBe('2026-03-02');
    expect(lastDateBefore('2026-03-01T00:00:00Z')).toBe('2026-02-28');
    expect(isoDate('nonsense')).toBe('');
  });
});
