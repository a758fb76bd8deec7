import { describe, expect, it } from 'vitest';
import type { AccuracyBucket, SegmentSummary } from '../../types';
import {
  DEFAULT_SORT,
  bucketLabel,
  formatCount,
  formatDuration,
  formatPercent,
  healthRows,
  chartedHorizons,
  maeSeries,
  nextSort,
  sortRanking,
  trendChartData,
  withNames,
} from './transforms';

function seg(id: string, score: number | null, extra: Partial<SegmentSummary> = {}): SegmentSummary {
  return {
    segment_id: id,
    avg_speed: 50,
    avg_volume: 10,
    total_events: 100,
    congestion_hours: 0,
    traffic_score: score,
    incidents: 0,
    ...extra,
  };
}

describe('bucket labels and chart data', () => {
  it('labels days, Monday weeks and months in UTC', () => {
    expect(bucketLabel({ start: '2026-11-19T00:00:00Z', end: '2026-11-20T00:00:00Z' }, 'day')).toBe('Thu 2026-11-19');
    expect(bucketLabel({ start: '2026-11-16T00:00:00Z', end: '2026-11-23T00:00:00Z' }, 'week')).toBe(
      '2026-11-16 – 11-22',
    );
    expect(bucketLabel({ start: '2026-02-01T00:00:00Z', end: '2026-03-01T00:00:00Z' }, 'month')).toBe('Feb 2026');
  });

  it('converts speeds to the viewer unit and keeps gaps', () => {
    const data = trendChartData(
      [
        { start: '2026-01-01T00:00:00Z', end: '', total_events: 1, avg_speed: 50, avg_volume: 3, congestion_hours: 0, incident_count: 0 },
        { start: '2026-01-02T00:00:00Z', end: '', total_events: 0, avg_speed: null, avg_volume: null, congestion_hours: 0, incident_count: 0 },
      ],
      'kmh',
    );
    expect(data.x).toEqual([1767225600, 1767312000]);
    expect(data.speed[0]).toBeCloseTo(80.4672);
    expect(data.speed[1]).toBeNull();
    expect(data.volume).toEqual([3, null]);
  });
});

describe('segment ranking', () => {
  const rows = withNames(
    [
      seg('s3', 80, { incidents: 2 }),
      seg('s1', 40, { congestion_hours: 3 }),
      seg('s2', null),
      seg('s4', 40, { congestion_hours: 1, avg_speed: null }),
    ],
    (id) => ({ s1: 'Main St', s3: 'Alder Rd' })[id],
  );

  it('puts the worst traffic score first by default, missing scores last, ties by id', () => {
    expect(sortRanking(rows, DEFAULT_SORT).map((r) => r.segment_id)).toEqual(['s1', 's4', 's3', 's2']);
    expect(sortRanking(rows, { key: 'traffic_score', direction: 'desc' }).map((r) => r.segment_id)).toEqual([
      's3',
      's1',
      's4',
      's2',
    ]);
  });

  it('sorts by name (falling back to the id) and by any figure', () => {
    expect(sortRanking(rows, { key: 'name', direction: 'asc' }).map((r) => r.name)).toEqual([
      'Alder Rd',
      'Main St',
      's2',
      's4',
    ]);
    expect(sortRanking(rows, { key: 'congestion_hours', direction: 'desc' })[0]?.segment_id).toBe('s1');
    expect(sortRanking(rows, { key: 'avg_speed', direction: 'asc' }).at(-1)?.segment_id).toBe('s4');
    expect(sortRanking(rows, { key: 'incidents', direction: 'desc' })[0]?.segment_id).toBe('s3');
  });

  it('flips on a second click and starts a new column worst first', () => {
    expect(nextSort(DEFAULT_SORT, 'traffic_score')).toEqual({ key: 'traffic_score', direction: 'desc' });
    expect(nextSort(DEFAULT_SORT, 'incidents')).toEqual({ key: 'incidents', direction: 'desc' });
    expect(nextSort({ key: 'incidents', direction: 'desc' }, 'incidents').direction).toBe('asc');
    expect(nextSort(DEFAULT_SORT, 'name')).toEqual({ key: 'name', direction: 'asc' });
  });

  it('does not change the input', () => {
    const before = rows.map((r) => r.segment_id);
    sortRanking(rows, { key: 'incidents', direction: 'desc' });
    expect(rows.map((r) => r.segment_id)).toEqual(before);
  });
});

describe('accuracy over time', () => {
  const bucket = (start: string, model: string, horizon: number, n: number, mae: number | null): AccuracyBucket => ({
    bucket_start: start,
    model_version: model,
    horizon_minutes: horizon,
    n,
    speed_mae: mae,
    speed_rmse: null,
    speed_mape: null,
    speed_bias: null,
    speed_coverage: null,
    volume_mae: null,
  });

  it('gives one MAE series per horizon, model versions weighted by n', () => {
    const series = maeSeries(
      [
        bucket('2026-01-01T01:00:00Z', 'a', 30, 10, 4),
        bucket('2026-01-01T00:00:00Z', 'a', 15, 10, 2),
        bucket('2026-01-01T00:00:00Z', 'b', 15, 30, 6),
        bucket('2026-01-01T01:00:00Z', 'a', 15, 0, 9),
        bucket('2026-01-01T01:00:00Z', 'b', 15, 5, null),
      ],
      'mph',
    );
    expect(series.x).toEqual([1767225600, 1767229200]);
    expect(series.horizons).toEqual([15, 30]);
    expect(series.mae).toEqual([
      [5, null], // (2·10 + 6·30) / 40; the next hour has nothing scored
      [null, 4],
    ]);
    expect(maeSeries([bucket('2026-01-01T00:00:00Z', 'a', 15, 1, 10)], 'kmh').mae[0]?.[0]).toBeCloseTo(16.09344);
  });
});

describe('charted horizons', () => {
  it('keeps the main horizons when present, else all', () => {
    expect(chartedHorizons([5, 10, 15, 30, 45, 60])).toEqual([15, 30, 45, 60]);
    expect(chartedHorizons([5, 10])).toEqual([5, 10]);
    expect(chartedHorizons([])).toEqual([]);
  });
});

describe('system figures', () => {
  it('lists health components with their scalar details', () => {
    const rows = healthRows({
      status: 'healthy',
      timestamp: '',
      version: '1',
      checks: {
        model: { status: 'healthy', model_version: 'v3', live_mae_mph: { '15': 2 }, mae_rising_horizons: [] },
        database: { status: 'healthy', latency_ms: 0.4321 },
      },
    });
    expect(rows).toEqual([
      { component: 'database', status: 'healthy', detail: 'latency ms: 0.43' },
      { component: 'model', status: 'healthy', detail: 'model version: v3' },
    ]);
  });

  it('formats counts, shares and durations', () => {
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
    expect(formatPercent(0.8123)).toBe('81.2 %');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe('3 h 5 min');
    expect(formatDuration(2 * 86_400 + 4 * 3600)).toBe('2 d 4 h');
  });
});
