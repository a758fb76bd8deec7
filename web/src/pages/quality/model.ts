// The detector table: which rows a filter keeps, their order, and how figures read.
import { REASONS, type DetectorDay, type DetectorHealthReport, type QualityDays, type Reason } from './api';

/** "all", "good", "bad" (any problem) or one reason. */
export type HealthFilter = 'all' | 'good' | 'bad' | Reason;
export const FILTERS: readonly HealthFilter[] = ['all', 'good', 'bad', ...REASONS];

export const REASON_LABELS: Record<Reason | 'ok', string> = {
  ok: 'Good',
  no_data: 'No data',
  insufficient_data: 'Insufficient data',
  stuck: 'Stuck',
  implausible: 'Implausible',
  intermittent: 'Intermittent',
};

export const FILTER_LABELS: Record<HealthFilter, string> = {
  all: 'All detectors',
  good: 'Good',
  bad: 'Any problem',
  ...REASON_LABELS,
} as Record<HealthFilter, string>;

export function parseFilter(raw: string | null): HealthFilter {
  return FILTERS.includes(raw as HealthFilter) ? (raw as HealthFilter) : 'all';
}

export type SortKey = 'segment_id' | 'name' | 'reason' | 'share' | 'samples';
export interface Sort {
  key: SortKey;
  direction: 'asc' | 'desc';
}
export const DEFAULT_SORT: Sort = { key: 'reason', direction: 'asc' };

/** A click on a column: the other direction on the same column, else the column's natural one. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, direction: current.direction === 'asc' ? 'desc' : 'asc' };
  return { key, direction: 'asc' };
}

/** Problems first (in the order the API checks them), good last. */
const REASON_RANK: Record<string, number> = Object.fromEntries([...REASONS, 'ok'].map((r, i) => [r, i]));

function rankOf(reason: string): number {
  // A reason this page does not know yet sorts with the problems, after the known ones.
  return REASON_RANK[reason] ?? REASONS.length - 0.5;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compare(a: DetectorDay, b: DetectorDay, key: SortKey): number {
  switch (key) {
    case 'segment_id':
      return collator.compare(a.segment_id, b.segment_id);
    case 'name':
      return collator.compare(a.name ?? '', b.name ?? '');
    case 'reason':
      return rankOf(a.reason) - rankOf(b.reason) || a.share - b.share;
    case 'share':
      return a.share - b.share;
    case 'samples':
      return a.samples - b.samples;
  }
}

export function matchesFilter(row: DetectorDay, filter: HealthFilter): boolean {
  if (filter === 'all') return true;
  if (filter === 'good' || filter === 'bad') return row.status === filter;
  return row.reason === filter;
}

/** True when the search text is in the segment id or the name (case-insensitive; blank matches all). */
export function matchesSearch(row: DetectorDay, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  return row.segment_id.toLowerCase().includes(needle) || (row.name ?? '').toLowerCase().includes(needle);
}

/** The rows a filter and search keep, sorted (ties by segment id, so the order is stable). */
export function visibleRows(rows: readonly DetectorDay[], filter: HealthFilter, search: string, sort: Sort): DetectorDay[] {
  const sign = sort.direction === 'asc' ? 1 : -1;
  return rows
    .filter((row) => matchesFilter(row, filter) && matchesSearch(row, search))
    .sort((a, b) => sign * compare(a, b, sort.key) || collator.compare(a.segment_id, b.segment_id));
}

/** Detectors per filter, as the API counted them (good, bad and by reason). */
export function filterCounts(report: Pick<DetectorHealthReport, 'good' | 'bad' | 'by_reason'>): Record<HealthFilter, number> {
  const out = { all: report.good + report.bad, good: report.good, bad: report.bad } as Record<HealthFilter, number>;
  for (const reason of REASONS) out[reason] = report.by_reason[reason] ?? 0;
  return out;
}

/** "87.5 %" for 0.875; one decimal, so 0.9996 does not read as a full 100 %. */
export function formatShare(share: number): string {
  if (!Number.isFinite(share)) return '—';
  const pct = Math.floor(share * 1000) / 10;
  return `${pct.toFixed(1)} %`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isDate(text: string | null | undefined): text is string {
  if (!text || !DATE.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === text;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** "HH:MM" of an instant in a time zone (the report's end, when the day is today). */
export function localTime(iso: string, timeZone: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
  } catch {
    return new Date(t).toISOString().slice(11, 16);
  }
}

/** The calendar day "YYYY-MM-DD" at `nowMs` in a time zone (UTC for an unknown zone). */
export function todayIn(timeZone: string, nowMs: number): string {
  try {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(nowMs);
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
    return `${part('year')}-${part('month')}-${part('day')}`;
  } catch {
    return new Date(nowMs).toISOString().slice(0, 10);
  }
}

/**
 * The day the page opens on without a date in the URL: today, unless the data stops
 * before it (a replay of another year), then the last day with data.
 */
export function defaultDay(days: Pick<QualityDays, 'today' | 'last_day'>): string {
  return days.last_day !== null && days.last_day < days.today ? days.last_day : days.today;
}

/** "Data from 2012-03-01 to 2012-06-30", or that there is none yet. */
export function dataRangeText(days: Pick<QualityDays, 'first_day' | 'last_day'>): string {
  if (days.first_day === null || days.last_day === null) return 'No traffic data stored yet.';
  return days.first_day === days.last_day ? `Data on ${days.first_day}.` : `Data from ${days.first_day} to ${days.last_day}.`;
}
