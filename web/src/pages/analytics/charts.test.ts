import { describe, expect, it } from 'vitest';
import { clockTicks, thinTicks } from './charts';

describe('clockTicks', () => {
  it('shows the date under the first tick and where the day changes', () => {
    const t = Date.parse('2026-11-25T22:00:00Z') / 1000;
    expect(clockTicks([t, t + 3600, t + 7200, t + 10800])).toEqual(['22:00\n11-25', '23:00', '00:00\n11-26', '01:00']);
    expect(clockTicks([t + 5], true)).toEqual(['22:00:05\n11-25']);
  });
});

describe('thinTicks', () => {
  it('keeps every tick when they fit and spaces them evenly when not', () => {
    expect(thinTicks([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thinTicks([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([0, 3, 6, 9]);
    expect(thinTicks([0, 1, 2, 3], 0)).toEqual([0, 1, 2, 3].filter((_, i) => i % 4 === 0));
  });
});
