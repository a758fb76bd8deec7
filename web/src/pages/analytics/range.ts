// The page's period and date range: read from and written to the URL (a report
// can be shared as a link), turned into API dates. Dates are UTC calendar days;
// `to` is inclusive on screen and becomes the API's exclusive end (the next day).
import type { Period } from './api';

export const PERIODS: readonly Period[] = ['day', 'week', 'month'];

export interface RangeState {
  period: Period;
  /** Inclusive UTC dates "YYYY-MM-DD"; both null = the API's default range. */
  from: string | null;
  to: string | null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export function isDate(text: string | null | undefined): text is string {
  if (!text || !DATE.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === text;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The state a URL asks for; anything invalid falls back to the defaults. */
export function parseRange(params: URLSearchParams): RangeState {
  const raw = params.get('period');
  const period: Period = raw === 'week' || raw === 'month' ? raw : 'day';
  const from = params.get('from');
  const to = params.get('to');
  if (isDate(from) && isDate(to) && from <= to) return { period, from, to };
  return { period, from: null, to: null };
}

/** URL parameters for a state (defaults left out). */
export function rangeParams(state: RangeState): Record<string, string> {
  const out: Record<string, string> = {};
  if (state.period !== 'day') out.period = state.period;
  if (state.from && state.to) {
    out.from = state.from;
    out.to = state.to;
  }
  return out;
}

/** API dates for a state: start inclusive, end exclusive (the day after `to`). */
export function requestDates(state: RangeState): { start: string | null; end: string | null } {
  if (!state.from || !state.to) return { start: null, end: null };
  return { start: state.from, end: addDays(state.to, 1) };
}

/** Inclusive dates of a range the API answered with [start, end). */
export function shownDates(startIso: string, endIso: string): { from: string; to: string } {
  return {
    from: new Date(Date.parse(startIso)).toISOString().slice(0, 10),
    to: new Date(Date.parse(endIso) - 1).toISOString().slice(0, 10),
  };
}

/** Why a from/to pair cannot be asked for, or null when it can. */
export function rangeProblem(from: string, to: string): string | null {
  if (!isDate(from)) return 'Choose a start date.';
  if (!isDate(to)) return 'Choose an end date.';
  if (from > to) return 'The start date is after the end date.';
  return null;
}

/** Accuracy buckets that divide a day, the shortest giving at most `maxPoints` over the range. */
export const ACCURACY_BUCKETS = [60, 180, 360, 720, 1440] as const;

export function accuracyBucketMinutes(startIso: string, endIso: string, maxPoints = 400): number {
  const minutes = (Date.parse(endIso) - Date.parse(startIso)) / 60_000;
  for (const bucket of ACCURACY_BUCKETS) {
    if (minutes / bucket <= maxPoints) return bucket;
  }
  return 1440;
}

/** The accuracy endpoint answers at most this many buckets (35 days of 5 minutes). */
export const ACCURACY_MAX_BUCKETS = 10_080;

/** The accuracy query for a range: its buckets, and the range cut to its newest part when
 * even daily buckets would be more than the endpoint answers (only for decades-long ranges). */
export function accuracyWindow(startIso: string, endIso: string): { start: string; end: string; bucketMinutes: number } {
  const bucketMinutes = accuracyBucketMinutes(startIso, endIso);
  const earliest = Date.parse(endIso) - ACCURACY_MAX_BUCKETS * bucketMinutes * 60_000;
  const start = Date.parse(startIso) < earliest ? new Date(earliest).toISOString().replace('.000Z', 'Z') : startIso;
  return { start, end: endIso, bucketMinutes };
}
