// The speed-band limits as the operator types them: in their unit, checked the way
// preferences.ts will accept them (0 < slow < fast ≤ 200 mph), stored in mph.
import { KMH_PER_MPH, speedUnitLabel, type SpeedUnit } from '../../format';
import type { Preferences } from '../../preferences';

export interface BandForm {
  fast: string;
  slow: string;
}

export interface BandLimits {
  fastAboveMph: number;
  slowBelowMph: number;
}

export type BandErrors = Partial<Record<keyof BandForm, string>>;

/** The highest fast limit preferences.ts keeps (anything above falls back to defaults). */
export const MAX_FAST_MPH = 200;

function toUnit(mph: number, unit: SpeedUnit): number {
  return unit === 'kmh' ? mph * KMH_PER_MPH : mph;
}

function toMph(value: number, unit: SpeedUnit): number {
  return unit === 'kmh' ? value / KMH_PER_MPH : value;
}

/** A limit for display: whole numbers as such, else one decimal. */
export function limitText(mph: number, unit: SpeedUnit): string {
  return String(Math.round(toUnit(mph, unit) * 10) / 10);
}

export function bandFormFrom(prefs: Pick<Preferences, 'fastAboveMph' | 'slowBelowMph'>, unit: SpeedUnit): BandForm {
  return { fast: limitText(prefs.fastAboveMph, unit), slow: limitText(prefs.slowBelowMph, unit) };
}

function read(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : null;
}

/**
 * The limits in mph, or the problems by field. A field left as it was displayed
 * keeps the stored value exactly (no round trip through the displayed rounding).
 */
export function validateBands(
  form: BandForm,
  unit: SpeedUnit,
  current: BandLimits,
): { limits: BandLimits | null; errors: BandErrors } {
  const errors: BandErrors = {};
  const label = speedUnitLabel(unit);
  const fast = read(form.fast);
  const slow = read(form.slow);
  if (slow === null) errors.slow = `A speed in ${label}`;
  else if (slow <= 0) errors.slow = 'Above 0';
  if (fast === null) errors.fast = `A speed in ${label}`;
  else if (slow !== null && fast <= slow) errors.fast = `Above the red limit (${form.slow.trim()} ${label})`;
  else if (toMph(fast, unit) > MAX_FAST_MPH + 1e-9) errors.fast = `At most ${limitText(MAX_FAST_MPH, unit)} ${label}`;
  if (fast === null || slow === null || Object.keys(errors).length > 0) return { limits: null, errors };
  const unchanged = bandFormFrom(current, unit);
  return {
    limits: {
      fastAboveMph: form.fast.trim() === unchanged.fast ? current.fastAboveMph : toMph(fast, unit),
      slowBelowMph: form.slow.trim() === unchanged.slow ? current.slowBelowMph : toMph(slow, unit),
    },
    errors,
  };
}
