import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../export/csv';
import { tableCsv, tableText } from '../../export/table';
import { accuracyTable, counterRows, countersTable, rankingTable, summaryTable } from './tables';

describe('page tables', () => {
  it('summary: unit headers, raw numbers in the CSV, formatted on screen', () => {
    const table = summaryTable(
      [
        {
          start: '2026-11-19T00:00:00Z',
          end: '2026-11-20T00:00:00Z',
          total_events: 123456,
          avg_speed: 50,
          avg_volume: 12.345,
          congestion_hours: 1.25,
          incident_count: 3,
        },
      ],
      'day',
      'kmh',
    );
    const csv = parseCsv(tableCsv(table));
    expect(csv[0]).toEqual([
      'bucket_start (UTC date)',
      'events (count)',
      'avg_speed (km/h)',
      'avg_volume (vehicles per 5 min)',
      'congestion (segment-hours at LOS E/F)',
      'incidents (count)',
    ]);
    expect(csv[1]).toEqual(['2026-11-19', '123456', '80.4672', '12.345', '1.25', '3']);
    expect(tableText(table).body[0]).toEqual(['Thu 2026-11-19', '123,456', '80 km/h', '12.3', '1.3', '3']);
  });

  it('ranking: names with commas are quoted and hostile names defused', () => {
    const table = rankingTable(
      [
        {
          rank: 1,
          name: '=cmd|calc, "north"',
          segment_id: 's1',
          avg_speed: null,
          avg_volume: 3,
          total_events: 5,
          congestion_hours: 0,
          traffic_score: 12.5,
          incidents: 1,
        },
      ],
      'mph',
    );
    const text = tableCsv(table);
    expect(text).toContain('"\'=cmd|calc, ""north"""');
    expect(parseCsv(text)[1]).toEqual(['1', '\'=cmd|calc, "north"', 's1', '12.5', '', '3', '5', '0', '1']);
    expect(tableText(table).body[0]).toEqual(['1', '=cmd|calc, "north"', 's1', '12.5', '—', '3.0', '5', '0.0', '1']);
    expect(table.columns.filter((c) => c.sortKey).map((c) => c.id)).toEqual([
      'name',
      'traffic_score',
      'avg_speed',
      'avg_volume',
      'total_events',
      'congestion_hours',
      'incidents',
    ]);
  });

  it('accuracy: errors in the viewer unit, coverage a share in the CSV and a percent on screen', () => {
    const table = accuracyTable(
      [
        {
          horizon_minutes: 15,
          n: 2000,
          speed_mae: 2,
          speed_rmse: 3,
          speed_mape: 4.5,
          speed_coverage: 0.8,
          recent_mae: null,
          trend: 1.1,
        },
      ],
      'mph',
    );
    expect(parseCsv(tableCsv(table))[1]).toEqual(['15', '2000', '2', '3', '4.5', '0.8', '', '1.1']);
    expect(tableText(table).body[0]).toEqual(['15 min', '2,000', '2.00', '3.00', '4.5 %', '80.0 %', '—', '×1.10']);
  });

  it('counters: missing pipeline counters are empty, not zero', () => {
    const rows = counterRows({
      timestamp: '',
      role: 'all',
      uptime_seconds: 90,
      events_per_second: 12.5,
      events_total: 1000,
      late_events_total: null,
      windows_total: 5,
      predictions_total: 6,
      alerts_open: 0,
      websocket_clients: 2,
      history: [],
    });
    const csv = parseCsv(tableCsv(countersTable(rows)));
    expect(csv[4]).toEqual(['Late events', '', 'count']);
    expect(csv[1]).toEqual(['Uptime', '90', 'seconds']);
  });
});
