import { describe, expect, it } from 'vitest';
import { BandStateSync } from './bandSync';

function recorder() {
  const calls: { id: number; state: Record<string, unknown> }[] = [];
  return { calls, target: { setFeatureState: (f: { id: number }, state: Record<string, unknown>) => calls.push({ id: f.id, state }) } };
}

const IDS = new Map([
  ['S1', 0],
  ['S2', 1],
]);

describe('BandStateSync', () => {
  it('sets feature-state only when the band changes', () => {
    const { calls, target } = recorder();
    const sync = new BandStateSync(target, 'segments', IDS);
    const speeds = new Map<string, number | null>([['S1', 70]]);
    const speedOf = (id: string) => speeds.get(id);

    expect(sync.update(['S1', 'S2', 'unknown'], speedOf)).toBe(2);
    expect(calls).toEqual([
      { id: 0, state: { band: 'fast' } },
      { id: 1, state: { band: 'nodata' } },
    ]);

    speeds.set('S1', 65);
    expect(sync.update(['S1'], speedOf)).toBe(0);

    speeds.set('S1', 29.99);
    expect(sync.update(['S1'], speedOf)).toBe(1);
    expect(calls.at(-1)).toEqual({ id: 0, state: { band: 'slow' } });
    expect(sync.bandOf('S1')).toBe('slow');
    expect(sync.bandOf('nope')).toBeUndefined();
  });

  it('re-bands with the operator limits and reports when they change', () => {
    const { calls, target } = recorder();
    const sync = new BandStateSync(target, 'segments', IDS);
    const speedOf = () => 50;
    sync.update(['S1'], speedOf);
    expect(calls.at(-1)?.state).toEqual({ band: 'moderate' });

    expect(sync.setLimits({ fastAboveMph: 45, slowBelowMph: 20 })).toBe(true);
    expect(sync.setLimits({ fastAboveMph: 45, slowBelowMph: 20 })).toBe(false);
    expect(sync.update(['S1'], speedOf)).toBe(1);
    expect(calls.at(-1)?.state).toEqual({ band: 'fast' });
  });

  it('writes its own state key and starts over after a reset', () => {
    const { calls, target } = recorder();
    const sync = new BandStateSync(target, 'segments', IDS, 'fband');
    sync.update(['S2'], () => 10);
    expect(sync.update(['S2'], () => 10)).toBe(0);
    sync.reset();
    expect(sync.update(['S2'], () => 10)).toBe(1);
    expect(calls).toEqual([
      { id: 1, state: { fband: 'slow' } },
      { id: 1, state: { fband: 'slow' } },
    ]);
  });
});
