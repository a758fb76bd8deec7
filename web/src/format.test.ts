import { describe, expect, it } from 'vitest';
import { formatDateTimeUtc, formatSpeed, formatSpeedRange, formatTimeUtc, toEpochSeconds } from './format';

describe('format', () => {
  it('formats speeds', () => {
    expect(formatSpeed(58.6)).toBe('59 mph');
    expect(formatSpeed(null)).toBe('—');
    expect(formatSpeed(Number.NaN)).toBe('—');
  });

  it('formats speed bands', () => {
    expect(formatSpeedRange(40.4, 52.6)).toBe('40–53 mph');
    expect(formatSpeedRange(50, 60, 'kmh')).toBe('80–97 km/h');
    expect(formatSpeedRange(null, 60)).toBe('—');
    expect(formatSpeedRange(40, undefined)).toBe('—');
  });

  it('formats times in UTC whatever the offset given', () => {
    expect(formatDateTimeUtc('2012-03-01T08:05:00Z')).toBe('2012-03-01 08:05 UTC');
    expect(formatDateTimeUtc('2012-03-01T10:05:00+02:00')).toBe('2012-03-01 08:05 UTC');
    expect(formatTimeUtc('2012-03-01T23:55:00Z')).toBe('23:55');
    expect(formatDateTimeUtc(null)).toBe('—');
    expect(formatDateTimeUtc('not a time')).toBe('—');
  });

  it('converts to epoch seconds', () => {
    expect(toEpochSeconds('1970-01-01T00:01:00Z')).toBe(60);
  });
});
