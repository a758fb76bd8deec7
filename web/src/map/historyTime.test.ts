import { describe, expect, it } from 'vitest';
import {
  WINDOW_MS,
  clampWindowStart,
  formatWindow,
  fromUtcInputValue,
  historyRange,
  stepWindow,
  toUtcInputValue,
  windowCount,
} from './historyTime';

const T = Date.UTC(2026, 0, 5, 8, 0); // 2026-01-05T08:00Z
const RANGE = historyRange('2026-01-05T08:05:00Z', '2026-01-05T09:00:00Z')!;

describe('historyRange', () => {
  it('turns the oldest and newest window ends into window starts', () => {
    expect(RANGE).toEqual({ firstStart: T, lastStart: T + 55 * 60_000 });
    expect(windowCount(RANGE)).toBe(12);
  });

  it('is null while nothing is stored or the bounds are broken', () => {
    expect(historyRange(null, '2026-01-05T09:00:00Z')).toBeNull();
    expect(historyRange('2026-01-05T09:00:00Z', null)).toBeNull();
    expect(historyRange('garbage', '2026-01-05T09:00:00Z')).toBeNull();
    expect(historyRange('2026-01-05T10:00:00Z', '2026-01-05T09:00:00Z')).toBeNull();
  });
});

describe('clampWindowStart', () => {
  it('snaps to the start of the window holding the time', () => {
    expect(clampWindowStart(T + 7 * 60_000 + 31_000, RANGE)).toBe(T + 5 * 60_000);
    expect(clampWindowStart(T + 10 * 60_000, RANGE)).toBe(T + 10 * 60_000);
  });

  it('keeps times inside the stored range', () => {
    expect(clampWindowStart(T - 3 * 3_600_000, RANGE)).toBe(RANGE.firstStart);
    expect(clampWindowStart(T + 30 * 3_600_000, RANGE)).toBe(RANGE.lastStart);
    expect(clampWindowStart(Number.NaN, RANGE)).toBe(RANGE.lastStart);
  });
});

describe('stepWindow', () => {
  it('moves by whole windows and stops at the ends', () => {
    expect(stepWindow(T + 5 * 60_000, 1, RANGE)).toBe(T + 10 * 60_000);
    expect(stepWindow(T + 5 * 60_000, -1, RANGE)).toBe(T);
    expect(stepWindow(T, -1, RANGE)).toBe(T);
    expect(stepWindow(RANGE.lastStart, 3, RANGE)).toBe(RANGE.lastStart);
  });
});

describe('UTC input values', () => {
  it('round-trips through the datetime-local format in UTC', () => {
    expect(toUtcInputValue(T + 5 * 60_000)).toBe('2026-01-05T08:05');
    expect(fromUtcInputValue('2026-01-05T08:05')).toBe(T + 5 * 60_000);
    expect(fromUtcInputValue('2026-01-05T08:05:30')).toBe(T + 5 * 60_000 + 30_000);
  });

  it('refuses what is not a real UTC time', () => {
    for (const text of ['', 'garbage', '2026-02-31T08:00', '2026-01-05T24:00', '2026-01-05 08:00', '2026-01-05T08:60']) {
      expect(fromUtcInputValue(text)).toBeNull();
    }
  });
});

describe('formatWindow', () => {
  it('names the window in UTC', () => {
    expect(formatWindow(T + 55 * 60_000)).toBe('2026-01-05 08:55–09:00 UTC');
    expect(WINDOW_MS).toBe(300_000);
  });
});
