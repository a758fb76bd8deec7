// How the report's figures read on screen: numbers, period labels in the network's
// time zone, delay per reference speed, level-of-service hours in grade order.
import type { Measures, Period } from './api';

/** "12,345.6" (en-US grouping); "—" for null or a broken number. */
export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value == null || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "YYYY-MM-DD" of an instant in a time zone (UTC for an unknown zone). */
export function localDate(iso: string, timeZone: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  try {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(t);
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
    return `${part('year')}-${part('month')}-${part('day')}`;
  } catch {
    return new Date(t).toISOString().slice(0, 10);
  }
}

/** A period's label: "2026-11-20", "week of 2026-11-16", "2026-11". */
export function periodLabel(startIso: string, period: Period, timeZone: string): string {
  const day = localDate(startIso, timeZone);
  if (period === 'month') return day.slice(0, 7);
  if (period === 'week') return `week of ${day}`;
  return day;
}

/** "2026-11-16 – 2026-11-22" for local [start, end): the end's day before. */
export function localRangeText(startIso: string, endIso: string, timeZone: string): string {
  const from = localDate(startIso, timeZone);
  const last = localDate(new Date(Date.parse(endIso) - 1).toISOString(), timeZone);
  return from === last ? from : `${from} – ${last}`;
}

/** The delay keys in reference-speed order, then any others the report has (numerically). */
export function delayKeys(delay: Record<string, number>, referenceSpeeds: readonly number[]): string[] {
  const keys = Object.keys(delay);
  const byRef = referenceSpeeds.map((r) => keys.find((k) => Number(k) === r)).filter((k): k is string => k !== undefined);
  const rest = keys.filter((k) => !byRef.includes(k)).sort((a, b) => Number(a) - Number(b));
  return [...byRef, ...rest];
}

export const GRADES = ['A', 'B', 'C', 'D', 'E', 'F'] as const;

/** Hours at each level of service A–F, grades missing from the report as 0; the share of the total. */
export function losBreakdown(los: Record<string, number>): { grade: string; hours: number; share: number }[] {
  const total = GRADES.reduce((sum, g) => sum + (los[g] ?? 0), 0);
  return GRADES.map((grade) => {
    const hours = los[grade] ?? 0;
    return { grade, hours, share: total > 0 ? hours / total : 0 };
  });
}

/** The headline figures of a set of measures, in the order the page shows them. */
export function headline(
  m: Measures,
  referenceSpeeds: readonly number[],
  speed: (mph: number) => string,
): { id: string; label: string; value: string }[] {
  return [
    { id: 'vmt', label: 'Vehicle-miles travelled', value: formatNumber(m.vmt) },
    { id: 'vht', label: 'Vehicle-hours travelled', value: formatNumber(m.vht) },
    ...delayKeys(m.delay_vehicle_hours, referenceSpeeds).map((k) => ({
      id: `delay-${k}`,
      label: `Delay vs ${speed(Number(k))} (veh-h)`,
      value: formatNumber(m.delay_vehicle_hours[k], 1),
    })),
    { id: 'tti', label: 'Travel-time index', value: formatNumber(m.travel_time_index, 2) },
    { id: 'congestion', label: 'Congestion hours', value: formatNumber(m.congestion_hours, 1) },
  ];
}
