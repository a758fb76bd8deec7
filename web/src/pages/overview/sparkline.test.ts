import { describe, expect, it } from 'vitest';
import { sparkline } from './sparkline';

describe('sparkline', () => {
  it('scales values into the box, highest at the top', () => {
    const line = sparkline([0, 5, 10], { width: 100, height: 20, padding: 0 });
    expect(line.d).toBe('M0 20 L50 10 L100 0');
    expect([line.min, line.max]).toEqual([0, 10]);
  });

  it('breaks the line at missing values and dots lone points', () => {
    const line = sparkline([1, 2, null, 3, Number.NaN, 1, 2], { width: 60, height: 10, padding: 0 });
    expect(line.d.split('M')).toHaveLength(3); // '' + two runs
    expect(line.dots).toEqual([[30, 0]]);
  });

  it('draws from zero for rates', () => {
    expect(sparkline([5, 10], { width: 10, height: 10, padding: 0, fromZero: true }).d).toBe('M0 5 L10 0');
  });

  it('keeps a flat line in the middle and handles a single value', () => {
    expect(sparkline([4, 4], { width: 10, height: 10, padding: 0 }).d).toBe('M0 5 L10 5');
    expect(sparkline([4], { width: 10, height: 10 }).dots).toEqual([[5, 5]]);
  });

  it('is empty without values', () => {
    expect(sparkline([null, null], { width: 10, height: 10 })).toEqual({ d: '', dots: [], min: null, max: null });
    expect(sparkline([], { width: 10, height: 10 }).d).toBe('');
  });
});
