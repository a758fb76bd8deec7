import { describe, expect, it } from 'vitest';
import type { Reading } from '../types';
import { BandStateSync } from './bandSync';

function reading(speed: number | null): Reading {
  return { timestamp: '2012-03-01T08:05:00Z', speed, volume: null, occupancy: null, level_of_service: null };
}

describe('BandStateSync', () => {
  it('sets feature-state only when the band changes', () => {
    const calls: { id: number; band: unknown }[] = [];
    const sync = new BandStateSync(
      { setFeatureState: (feature, state) => calls.push({ id: feature.id, band: state.band }) },
      'segments',
      new Map([
        ['S1', 0],
        ['S2', 1],
      ]),
    );
    const readings = new Map<string, Reading>([['S1', reading(70)]]);
    const readingOf = (id: string) => readings.get(id);

    expect(sync.update(['S1', 'S2', 'unknown'], readingOf)).toBe(2);
    expect(calls).toEqual([
      { id: 0, band: 'fast' },
      { id: 1, band: 'nodata' },
    ]);

    readings.set('S1', reading(65));
    expect(sync.update(['S1'], readingOf)).toBe(0);

    readings.set('S1', reading(29.99));
    expect(sync.update(['S1'], readingOf)).toBe(1);
    expect(calls.at(-1)).toEqual({ id: 0, band: 'slow' });
  });
});
