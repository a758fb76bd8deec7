// The report form: dates and period, from and to the URL (a report can be shared
// as a link), checked before anything is asked of the server.
import type { Period } from './api';

export const PERIODS: readonly Period[] = ['day', 'week', 'month'];
/** The API's limit on [start, end). */
export const MAX_SPAN_DAYS = 366;
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ReportForm {
  /** Inclusive UTC dates "YYYY-MM-DD" as typed (may be invalid while editing). */
  from: string;
  to: string;
  period: Period;
}

export type FormProblems = Partial<Record<'from' | 'to', string>>;

export function isDate(text: string | null | undefined): text is string {
  if (!text || !DATE.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === text;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function spanDays(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The last 7 UTC days up to and with `today`. */
export function defaultForm(today: string): ReportForm {
  return { from: addDays(today, -6), to: today, period: 'day' };
}

/** The form a URL asks for; missing or invalid parts take the defaults. */
export function parseForm(params: URLSearchParams, today: string): ReportForm {
  const fallback = defaultForm(today);
  const raw = params.get('period');
  const period = PERIODS.includes(raw as Period) ? (raw as Period) : fallback.period;
  const from = params.get('from');
  const to = params.get('to');
  if (isDate(from) && isDate(to)) return { from, to, period };
  return { ...fallback, period };
}

export function formParams(form: ReportForm): Record<string, string> {
  return { from: form.from, to: form.to, period: form.period };
}

/** What is wrong with each field, empty when the report can be asked for. */
export function formProblems(form: ReportForm): FormProblems {
  const out: FormProblems = {};
  if (!isDate(form.from)) out.from = 'Choose a start date.';
  if (!isDate(form.to)) out.to = 'Choose an end date.';
  if (out.from || out.to) return out;
  if (form.to < form.from) out.to = 'The end date is before the start date.';
  else if (spanDays(form.from, form.to) > MAX_SPAN_DAYS) out.to = `At most ${MAX_SPAN_DAYS} days in one report.`;
  return out;
}

export function isValid(form: ReportForm): boolean {
  return Object.keys(formProblems(form)).length === 0;
}

/** The API's [start, end): the end is the day after the last one shown. */
export function requestRange(form: ReportForm): { start: string; end: string } {
  return { start: form.from, end: addDays(form.to, 1) };
}
