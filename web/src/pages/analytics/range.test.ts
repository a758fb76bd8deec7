import { describe, expect, it } from 'vitest';
import {
  accuracyBucketMinutes,
  accuracyWindow,
  addDays,
  isDate,
  parseRange,
  rangeParams,
  rangeProblem,
  requestDates,
  shownDates,
} from './range';

describe('range state', () => {
  it('reads the URL, refusing bad or backwards dates', () => {
    expect(parseRange(new URLSearchParams('period=week&from=2026-11-02&to=2026-11-29'))).toEqual({
      period: 'week',
      from: '2026-11-02',
      to: '2026-11-29',
    });
    expect(parseRange(new URLSearchParams('period=year&from=2026-02-30&to=2026-03-01'))).toEqual({
      period: 'day',
      from: null,
      to: null,
    });
    expect(parseRange(new URLSearchParams('from=2026-03-02&to=2026-03-01')).from).toBeNull();
    expect(rangeParams({ period: 'day', from: null, to: null })).toEqual({});
    expect(rangeParams({ period: 'month', from: '2026-01-01', to: '2026-03-31' })).toEqual({
      period: 'month',
      from: '2026-01-01',
      to: '2026-03-31',
    });
  });

  it('turns the inclusive end into the API exclusive one and back', () => {
    expect(requestDates({ period: 'day', from: '2026-11-19', to: '2026-11-26' })).toEqual({
      start: '2026-11-19',
      end: '2026-11-27',
    });
    expect(requestDates({ period: 'day', from: null, to: null })).toEqual({ start: null, end: null });
    expect(shownDates('2026-11-19T00:00:00Z', '2026-11-27T00:00:00Z')).toEqual({ from: '2026-11-19', to: '2026-11-26' });
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });

  it('validates dates', () => {
    expect(isDate('2026-02-29')).toBe(false);
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('26-1-1')).toBe(false);
    expect(rangeProblem('2026-01-02', '2026-01-01')).toMatch(/after/);
    expect(rangeProblem('', '2026-01-01')).toMatch(/start/);
    expect(rangeProblem('2026-01-01', '2026-01-01')).toBeNull();
  });

  it('picks accuracy buckets that keep the chart readable', () => {
    const day = (d: string) => `${d}T00:00:00Z`;
    expect(accuracyBucketMinutes(day('2026-01-01'), day('2026-01-15'))).toBe(60); // 336 hours
    expect(accuracyBucketMinutes(day('2026-01-01'), day('2026-01-20'))).toBe(180);
    expect(accuracyBucketMinutes(day('2025-10-06'), day('2025-12-29'))).toBe(360); // 12 weeks
    expect(accuracyBucketMinutes(day('2025-01-01'), day('2026-01-01'))).toBe(1440);
    expect(accuracyBucketMinutes(day('2020-01-01'), day('2026-01-01'))).toBe(1440);
  });

  it('cuts only ranges longer than the accuracy endpoint answers', () => {
    const day = (d: string) => `${d}T00:00:00Z`;
    expect(accuracyWindow(day('2025-01-01'), day('2026-01-01'))).toEqual({
      start: day('2025-01-01'),
      end: day('2026-01-01'),
      bucketMinutes: 1440,
    });
    const long = accuracyWindow(day('1990-01-01'), day('2026-01-01'));
    expect(long.end).toBe(day('2026-01-01'));
    expect((Date.parse(long.end) - Date.parse(long.start)) / 86_400_000).toBe(10_080);
  });
});
