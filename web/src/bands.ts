// Speed bands used everywhere a speed is coloured (map, header, panel, chart).
// The product spec says green > 60 mph, yellow 30–60, red < 30: both 30 and 60
// themselves are yellow.

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

export const FAST_ABOVE_MPH = 60;
export const SLOW_BELOW_MPH = 30;

export function speedBand(speed: number | null | undefined): Band {
  // A missing or broken reading (null, NaN, negative from a faulty loop) is "no data",
  // not "slow": colouring it red would invent a jam.
  if (speed == null || !Number.isFinite(speed) || speed < 0) return 'nodata';
  if (speed > FAST_ABOVE_MPH) return 'fast';
  if (speed < SLOW_BELOW_MPH) return 'slow';
  return 'moderate';
}

export function speedColor(speed: number | null | undefined): string {
  return BAND_COLORS[speedBand(speed)];
}
