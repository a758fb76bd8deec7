import { describe, expect, it } from 'vitest';
import { bandLabels, speedBand } from './bands';
import { convertSpeed, formatSpeed } from './format';
import { summarize } from './liveState';
import { DEFAULT_PREFERENCES, parsePreferences } from './preferences';
import type { Reading } from './types';

describe('parsePreferences', () => {
  it('reads what was stored', () => {
    expect(parsePreferences(JSON.stringify({ unit: 'kmh', fastAboveMph: 55, slowBelowMph: 25 }))).toEqual({
      unit: 'kmh',
      fastAboveMph: 55,
      slowBelowMph: 25,
    });
  });

  it('falls back to the defaults on nothing or garbage', () => {
    expect(parsePreferences(null)).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('{not json')).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('42')).toEqual(DEFAULT_PREFERENCES);
  });

  it('keeps a valid unit but refuses band limits that cross or are not numbers', () => {
    const crossed = parsePreferences(JSON.stringify({ unit: 'kmh', fastAboveMph: 20, slowBelowMph: 40 }));
    expect(crossed).toEqual({ ...DEFAULT_PREFERENCES, unit: 'kmh' });
    const text = parsePreferences(JSON.stringify({ unit: 'knots', fastAboveMph: '60', slowBelowMph: 30 }));
    expect(text).toEqual(DEFAULT_PREFERENCES);
    const negative = parsePreferences(JSON.stringify({ fastAboveMph: 60, slowBelowMph: -1 }));
    expect(negative).toEqual(DEFAULT_PREFERENCES);
  });
});

describe('units and band limits', () => {
  it('converts mph to km/h for display', () => {
    expect(convertSpeed(60, 'kmh')).toBeCloseTo(96.56, 2);
    expect(formatSpeed(60, 'kmh')).toBe('97 km/h');
    expect(formatSpeed(60)).toBe('60 mph');
    expect(formatSpeed(Number.NaN, 'kmh')).toBe('—');
  });

  it('bands a speed by the operator limits', () => {
    const limits = { fastAboveMph: 50, slowBelowMph: 20 };
    expect(speedBand(55, limits)).toBe('fast');
    expect(speedBand(55)).toBe('moderate');
    expect(speedBand(20, limits)).toBe('moderate');
    expect(speedBand(19.9, limits)).toBe('slow');
  });

  it('labels bands in the chosen unit', () => {
    expect(bandLabels({ fastAboveMph: 60, slowBelowMph: 30 }, 'mph')).toEqual({
      fast: '> 60 mph',
      moderate: '30–60 mph',
      slow: '< 30 mph',
      nodata: 'no data',
    });
    expect(bandLabels({ fastAboveMph: 60, slowBelowMph: 30 }, 'kmh').fast).toBe('> 97 km/h');
  });

  it('counts the header bands with the limits given', () => {
    const at = '2026-11-26T08:00:00Z';
    const readings = new Map<string, Reading>([
      ['a', { timestamp: at, speed: 55, volume: null, occupancy: null, level_of_service: null }],
      ['b', { timestamp: at, speed: 25, volume: null, occupancy: null, level_of_service: null }],
    ]);
    expect(summarize(['a', 'b', 'c'], readings).counts).toEqual({ fast: 0, moderate: 1, slow: 1, nodata: 1 });
    const strict = summarize(['a', 'b', 'c'], readings, { fastAboveMph: 50, slowBelowMph: 20 });
    expect(strict.counts).toEqual({ fast: 1, moderate: 1, slow: 0, nodata: 1 });
  });
});
