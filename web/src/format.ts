// Display formatting. Times are shown in UTC, as the API gives them: the data may
// be a replay of another city and day, where the viewer's local time means nothing.

export type SpeedUnit = 'mph' | 'kmh';

export const KMH_PER_MPH = 1.609344;

/** A speed the API gives in mph, in the viewer's unit. */
export function convertSpeed(mph: number, unit: SpeedUnit): number {
  return unit === 'kmh' ? mph * KMH_PER_MPH : mph;
}

export function speedUnitLabel(unit: SpeedUnit): string {
  return unit === 'kmh' ? 'km/h' : 'mph';
}

/** "57 mph" / "92 km/h"; "—" for a missing or broken value. */
export function formatSpeed(speed: number | null | undefined, unit: SpeedUnit = 'mph'): string {
  return speed == null || !Number.isFinite(speed)
    ? '—'
    : `${Math.round(convertSpeed(speed, unit))} ${speedUnitLabel(unit)}`;
}

/** "40–52 mph", a forecast's 80 % band; "—" when either end is missing. */
export function formatSpeedRange(lower: number | null | undefined, upper: number | null | undefined, unit: SpeedUnit = 'mph'): string {
  return lower == null || upper == null ? '—' : `${Math.round(convertSpeed(lower, unit))}–${formatSpeed(upper, unit)}`;
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2012-03-01 08:05 UTC" */
export function formatDateTimeUtc(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return '—';
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
}

/** "08:05" (UTC) */
export function formatTimeUtc(iso: string | null | undefined): string {
  const date = parse(iso);
  return date ? date.toISOString().slice(11, 16) : '—';
}

/** Seconds since the epoch, the x unit of the charts; NaN for a bad timestamp. */
export function toEpochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}
