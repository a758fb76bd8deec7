// Pure shaping of the API's answers for the page's tables and charts.
import { convertSpeed, type SpeedUnit } from '../../format';
import type { AccuracyBucket, HealthResponse, SegmentSummary } from '../../types';
import type { Period, TrendBucket } from './api';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "Thu 2026-11-19", "2026-11-16 – 11-22" (a Monday week), "Nov 2026"; UTC. */
export function bucketLabel(bucket: Pick<TrendBucket, 'start' | 'end'>, period: Period): string {
  const start = new Date(bucket.start);
  if (Number.isNaN(start.getTime())) return bucket.start;
  const date = start.toISOString().slice(0, 10);
  if (period === 'month') return `${MONTHS[start.getUTCMonth()]} ${start.getUTCFullYear()}`;
  if (period === 'week') {
    const last = new Date(Date.parse(bucket.end) - 1).toISOString().slice(5, 10);
    return `${date} – ${last}`;
  }
  return `${WEEKDAYS[start.getUTCDay()]} ${date}`;
}

export interface TrendChartData {
  /** Bucket starts, epoch seconds. */
  x: number[];
  speed: (number | null)[];
  volume: (number | null)[];
}

export function trendChartData(buckets: readonly TrendBucket[], unit: SpeedUnit): TrendChartData {
  return {
    x: buckets.map((b) => Date.parse(b.start) / 1000),
    speed: buckets.map((b) => (b.avg_speed == null ? null : convertSpeed(b.avg_speed, unit))),
    volume: buckets.map((b) => b.avg_volume),
  };
}

// ---- segment ranking -------------------------------------------------------

export type RankKey = 'name' | 'traffic_score' | 'avg_speed' | 'avg_volume' | 'total_events' | 'congestion_hours' | 'incidents';
export type SortDirection = 'asc' | 'desc';

export interface RankSort {
  key: RankKey;
  direction: SortDirection;
}

/** Worst first: the lowest traffic score (speed against free flow) leads. */
export const DEFAULT_SORT: RankSort = { key: 'traffic_score', direction: 'asc' };

/** The direction a column sorts in when first clicked: its "worst first". */
const WORST_FIRST: Record<RankKey, SortDirection> = {
  name: 'asc',
  traffic_score: 'asc',
  avg_speed: 'asc',
  avg_volume: 'desc',
  total_events: 'desc',
  congestion_hours: 'desc',
  incidents: 'desc',
};

/** A click on a column header: the same column flips, another starts worst first. */
export function nextSort(current: RankSort, key: RankKey): RankSort {
  if (current.key === key) return { key, direction: current.direction === 'asc' ? 'desc' : 'asc' };
  return { key, direction: WORST_FIRST[key] };
}

export interface RankedSegment extends SegmentSummary {
  name: string;
}

function sortValue(row: RankedSegment, key: RankKey): number | string | null {
  if (key === 'name') return row.name;
  const value = row[key];
  return value == null || !Number.isFinite(value) ? null : value;
}

/** Sorted copy: missing values last in either direction, ties by segment id. */
export function sortRanking(rows: readonly RankedSegment[], sort: RankSort): RankedSegment[] {
  const sign = sort.direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) {
      const order = typeof va === 'string' ? va.localeCompare(String(vb)) : va - (vb as number);
      if (order !== 0) return sign * order;
    }
    return a.segment_id < b.segment_id ? -1 : a.segment_id > b.segment_id ? 1 : 0;
  });
}

export function withNames(rows: readonly SegmentSummary[], nameOf: (id: string) => string | undefined): RankedSegment[] {
  return rows.map((r) => ({ ...r, name: nameOf(r.segment_id) ?? r.segment_id }));
}

// ---- accuracy --------------------------------------------------------------

export interface AccuracySeries {
  /** Bucket starts, epoch seconds. */
  x: number[];
  horizons: number[];
  /** One MAE series per horizon (in the viewer's unit), null where none was scored. */
  mae: (number | null)[][];
}

/** MAE over time per horizon; model versions of one bucket combine weighted by their counts. */
export function maeSeries(buckets: readonly AccuracyBucket[], unit: SpeedUnit): AccuracySeries {
  const times = [...new Set(buckets.map((b) => b.bucket_start))].sort((a, b) => Date.parse(a) - Date.parse(b));
  const horizons = [...new Set(buckets.map((b) => b.horizon_minutes))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const sums = horizons.map(() => times.map(() => ({ total: 0, n: 0 })));
  for (const b of buckets) {
    if (b.speed_mae == null || !Number.isFinite(b.speed_mae) || b.n <= 0) continue;
    const cell = sums[horizons.indexOf(b.horizon_minutes)]?.[index.get(b.bucket_start) ?? -1];
    if (!cell) continue;
    cell.total += b.speed_mae * b.n;
    cell.n += b.n;
  }
  return {
    x: times.map((t) => Date.parse(t) / 1000),
    horizons,
    mae: sums.map((row) => row.map((c) => (c.n > 0 ? convertSpeed(c.total / c.n, unit) : null))),
  };
}

/** The horizons worth a line each: 15/30/45/60 min where present, else all of them. */
export const MAIN_HORIZONS = [15, 30, 45, 60];

export function chartedHorizons(horizons: readonly number[]): number[] {
  const main = horizons.filter((h) => MAIN_HORIZONS.includes(h));
  return main.length ? main : [...horizons];
}

// ---- system ----------------------------------------------------------------

export interface HealthRow {
  component: string;
  status: string;
  detail: string;
}

const DETAIL_SKIP = new Set(['status', 'live_mae_mph', 'mae_trend', 'lag_by_partition']);

function detailValue(value: unknown): string | null {
  if (value == null) return null;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length ? value.map(String).join(' ') : null;
  return null;
}

/** One row per /health component, with its scalar details as "key: value" text. */
export function healthRows(health: HealthResponse): HealthRow[] {
  return Object.entries(health.checks)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([component, check]) => ({
      component,
      status: check.status,
      detail: Object.entries(check)
        .filter(([key]) => !DETAIL_SKIP.has(key))
        .map(([key, value]) => {
          const text = detailValue(value);
          return text === null ? null : `${key.replace(/_/g, ' ')}: ${text}`;
        })
        .filter((part): part is string => part !== null)
        .join(', '),
    }));
}

// ---- number text -----------------------------------------------------------

const grouped = new Intl.NumberFormat('en-US');

export function formatCount(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? '—' : grouped.format(Math.round(value));
}

export function formatFixed(value: number | null | undefined, digits: number): string {
  return value == null || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

export function formatPercent(share: number | null | undefined, digits = 1): string {
  return share == null || !Number.isFinite(share) ? '—' : `${(share * 100).toFixed(digits)} %`;
}

/** "3 d 4 h", "2 h 5 min", "42 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}
