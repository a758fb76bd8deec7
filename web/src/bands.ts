// Speed bands used everywhere a speed is coloured (map, header, panel, chart).
// The product spec says green > 60 mph, yellow 30–60, red < 30: both 30 and 60
// themselves are yellow.

import { convertSpeed, speedUnitLabel, type SpeedUnit } from './format';

export type Band = 'fast' | 'moderate' | 'slow' | 'nodata';

export const BANDS: readonly Band[] = ['fast', 'moderate', 'slow', 'nodata'];

export const BAND_COLORS: Readonly<Record<Band, string>> = {
  fast: '#1a9850',
  moderate: '#f9c80e',
  slow: '#d73027',
  nodata: '#8a919c',
};

export const BAND_LABELS: Readonly<Record<Band, string>> = {
  fast: '> 60 mph',
  moderate: '30–60 mph',
  slow: '< 30 mph',
  nodata: 'no data',
};

/** Band labels for the operator's limits, in their unit ("> 60 mph", "30–60 mph", "< 30 mph"). */
export function bandLabels(limits: BandThresholds, unit: SpeedUnit): Record<Band, string> {
  const show = (mph: number) => String(Math.round(convertSpeed(mph, unit)));
  const label = speedUnitLabel(unit);
  return {
    fast: `> ${show(limits.fastAboveMph)} ${label}`,
    moderate: `${show(limits.slowBelowMph)}–${show(limits.fastAboveMph)} ${label}`,
    slow: `< ${show(limits.slowBelowMph)} ${label}`,
    nodata: 'no data',
  };
}

export const FAST_ABOVE_MPH = 60;
export const SLOW_BELOW_MPH = 30;

/** Band limits in mph; the operator can change them in Settings (preferences.ts). */
export interface BandThresholds {
  fastAboveMph: number;
  slowBelowMph: number;
}

export const DEFAULT_THRESHOLDS: BandThresholds = { fastAboveMph: FAST_ABOVE_MPH, slowBelowMph: SLOW_BELOW_MPH };

export function speedBand(speed: number | null | undefined, limits: BandThresholds = DEFAULT_THRESHOLDS): Band {
  // A missing or broken reading (null, NaN, negative from a faulty loop) is "no data",
  // not "slow": colouring it red would invent a jam.
  if (speed == null || !Number.isFinite(speed) || speed < 0) return 'nodata';
  if (speed > limits.fastAboveMph) return 'fast';
  if (speed < limits.slowBelowMph) return 'slow';
  return 'moderate';
}

export function speedColor(speed: number | null | undefined, limits: BandThresholds = DEFAULT_THRESHOLDS): string {
  return BAND_COLORS[speedBand(speed, limits)];
}
