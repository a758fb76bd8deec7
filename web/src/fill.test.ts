import { describe, expect, it } from 'vitest';
import {
  countFill,
  fillNote,
  fillOf,
  fillSummary,
  imputedSpans,
  inputFillNote,
  isImputed,
  latestWindow,
  unmeasuredBySegment,
} from './fill';
import type { WindowFill } from './types';

const T0 = Date.parse('2026-01-05T08:00:00Z');
const iso = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const w = (startMinute: number, fill?: WindowFill) => ({
  window_start: iso(startMinute),
  window_end: iso(startMinute + 5),
  ...(fill ? { fill } : {}),
});

describe('fill labels', () => {
  it('treats a window without fill as observed', () => {
    expect(fillOf({})).toBe('observed');
    expect(fillOf({ fill: 'imputed_profile' })).toBe('imputed_profile');
  });

  it('names each kind and stays quiet for measured or unknown', () => {
    expect(fillNote('imputed_neighbours')).toBe('estimated from neighbours');
    expect(fillNote('imputed_profile')).toBe('estimated from the usual profile');
    expect(fillNote('missing')).toBe('no data (detector silent)');
    expect(fillNote('observed')).toBeNull();
    expect(fillNote(undefined)).toBeNull();
    expect(inputFillNote('imputed_neighbours')).toBe('from imputed input (neighbours)');
    expect(inputFillNote('imputed_profile')).toBe('from imputed input (usual profile)');
    expect(inputFillNote('observed')).toBeNull();
    expect(inputFillNote(null)).toBeNull();
    expect(isImputed('missing')).toBe(false);
    expect(isImputed('imputed_profile')).toBe(true);
  });
});

describe('countFill and fillSummary', () => {
  it('counts each kind; missing is not imputed', () => {
    const counts = countFill([
      w(0),
      w(5, 'observed'),
      w(10, 'imputed_neighbours'),
      w(15, 'imputed_neighbours'),
      w(20, 'imputed_profile'),
      w(25, 'missing'),
    ]);
    expect(counts).toEqual({ total: 6, observed: 2, neighbours: 2, profile: 1, missing: 1, imputed: 3 });
    expect(fillSummary(counts)).toBe(
      '3 of 6 windows imputed in this range (2 from neighbours, 1 from the usual profile); 1 missing',
    );
  });

  it('reads "0 of M" when everything was measured', () => {
    expect(fillSummary(countFill([w(0), w(5)]))).toBe('0 of 2 windows imputed in this range');
    expect(fillSummary(countFill([w(0, 'imputed_profile')]))).toBe(
      '1 of 1 window imputed in this range (1 from the usual profile)',
    );
    expect(fillSummary(countFill([]))).toBe('0 of 0 windows imputed in this range');
  });
});

describe('unmeasuredBySegment', () => {
  it('keeps only the segments whose window was not measured', () => {
    const map = unmeasuredBySegment([
      { segment_id: 'A', fill: 'observed' },
      { segment_id: 'B', fill: 'imputed_neighbours' },
      { segment_id: 'C' },
      { segment_id: 'D', fill: 'missing' },
    ]);
    expect([...map.entries()]).toEqual([
      ['B', 'imputed_neighbours'],
      ['D', 'missing'],
    ]);
  });
});

describe('latestWindow', () => {
  it('picks the newest start whatever the order', () => {
    expect(latestWindow([w(10, 'missing'), w(20, 'imputed_profile'), w(15)])?.fill).toBe('imputed_profile');
    expect(latestWindow([])).toBeNull();
  });
});

describe('imputedSpans', () => {
  const s = (minute: number) => (T0 + minute * 60_000) / 1000;

  it('merges consecutive windows of one kind and breaks on another kind, a measured window or a hole', () => {
    const spans = imputedSpans([
      w(30, 'imputed_profile'),
      w(0, 'imputed_neighbours'),
      w(5, 'imputed_neighbours'),
      w(10, 'imputed_profile'),
      w(15),
      w(20, 'imputed_neighbours'),
      // 25 not stored: a hole
      w(35, 'missing'),
    ]);
    expect(spans).toEqual([
      { start: s(0), end: s(10), fill: 'imputed_neighbours' },
      { start: s(10), end: s(15), fill: 'imputed_profile' },
      { start: s(20), end: s(25), fill: 'imputed_neighbours' },
      { start: s(30), end: s(35), fill: 'imputed_profile' },
    ]);
  });

  it('is empty when nothing was imputed', () => {
    expect(imputedSpans([w(0), w(5, 'missing')])).toEqual([]);
  });
});
