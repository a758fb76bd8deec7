import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatFixed, formatPercent, formatRate } from './numbers';

describe('numbers', () => {
  it('formats counts and rates', () => {
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
    expect(formatRate(9.96)).toBe('10.0');
    expect(formatRate(12345.6)).toBe('12,346');
    expect(formatRate(Number.POSITIVE_INFINITY)).toBe('—');
    expect(formatFixed(2.345, 2)).toBe('2.35');
    expect(formatPercent(0.834)).toBe('83 %');
    expect(formatPercent(undefined)).toBe('—');
    expect(formatPercent(1 / 299)).toBe('< 1 %');
    expect(formatPercent(0)).toBe('0 %');
  });

  it('formats durations', () => {
    expect(formatDuration(42.9)).toBe('42 s');
    expect(formatDuration(720)).toBe('12 min');
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe('3 h 05 min');
    expect(formatDuration(50 * 3600)).toBe('2 d 2 h');
    expect(formatDuration(-1)).toBe('—');
  });
});
