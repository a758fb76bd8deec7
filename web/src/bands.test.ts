import { describe, expect, it } from 'vitest';
import { BAND_COLORS, speedBand, speedColor } from './bands';

describe('speedBand', () => {
  it.each([
    [75, 'fast'],
    [60.01, 'fast'],
    [60, 'moderate'],
    [45, 'moderate'],
    [30, 'moderate'],
    [29.99, 'slow'],
    [0, 'slow'],
  ] as const)('%s mph is %s', (speed, band) => {
    expect(speedBand(speed)).toBe(band);
  });

  it.each([null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -1])('%s is no data', (speed) => {
    expect(speedBand(speed)).toBe('nodata');
  });
});

describe('speedColor', () => {
  it('uses the product colours', () => {
    expect(speedColor(61)).toBe('#1a9850');
    expect(speedColor(60)).toBe(BAND_COLORS.moderate);
    expect(speedColor(29.99)).toBe('#d73027');
    expect(speedColor(null)).toBe(BAND_COLORS.nodata);
  });
});
