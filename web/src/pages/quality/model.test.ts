import { describe, expect, it } from 'vitest';
import type { DetectorDay } from './api';
import { addDays, dataRangeText, defaultDay, todayIn, DEFAULT_SORT, filterCounts, formatShare, isDate, localTime, nextSort, parseFilter, visibleRows } from './model';

const row = (segment_id: string, reason: DetectorDay['reason'], share: number, name: string | null = null): DetectorDay => ({
  segment_id,
  name,
  status: reason === 'ok' ? 'good' : 'bad',
  reason,
  samples: Math.round(share * 288),
  expected: 288,
  share,
});

const rows = [
  row('S10', 'ok', 1, 'Main St'),
  row('S2', 'stuck', 0.98, 'Oak Ave'),
  row('S1', 'no_data', 0),
  row('S3', 'ok', 0.95, 'Main St north'),
  row('S4', 'intermittent', 0.9),
];

const ids = (list: DetectorDay[]) => list.map((r) => r.segment_id);

describe('visibleRows', () => {
  it('puts problems first in the order the API checks them, good last', () => {
    expect(ids(visibleRows(rows, 'all', '', DEFAULT_SORT))).toEqual(['S1', 'S2', 'S4', 'S3', 'S10']);
  });

  it('keeps only the status or the reason asked for', () => {
    expect(ids(visibleRows(rows, 'good', '', DEFAULT_SORT))).toEqual(['S3', 'S10']);
    expect(ids(visibleRows(rows, 'bad', '', DEFAULT_SORT))).toEqual(['S1', 'S2', 'S4']);
    expect(ids(visibleRows(rows, 'stuck', '', DEFAULT_SORT))).toEqual(['S2']);
    expect(visibleRows(rows, 'implausible', '', DEFAULT_SORT)).toEqual([]);
  });

  it('searches the segment id and the name, ignoring case and blanks', () => {
    expect(ids(visibleRows(rows, 'all', ' s1', DEFAULT_SORT))).toEqual(['S1', 'S10']);
    expect(ids(visibleRows(rows, 'all', 'main', DEFAULT_SORT))).toEqual(['S3', 'S10']);
    expect(ids(visibleRows(rows, 'bad', 'main', DEFAULT_SORT))).toEqual([]);
    expect(visibleRows(rows, 'all', '   ', DEFAULT_SORT)).toHaveLength(5);
  });

  it('sorts ids numerically and by share both ways', () => {
    expect(ids(visibleRows(rows, 'all', '', { key: 'segment_id', direction: 'asc' }))).toEqual(['S1', 'S2', 'S3', 'S4', 'S10']);
    expect(ids(visibleRows(rows, 'all', '', { key: 'share', direction: 'desc' }))).toEqual(['S10', 'S2', 'S3', 'S4', 'S1']);
  });

  it('sorts an unknown reason among the problems and does not change its input', () => {
    const odd = [...rows, { ...row('S9', 'stuck', 0.5), reason: 'flapping' as DetectorDay['reason'] }];
    const before = ids(odd);
    expect(ids(visibleRows(odd, 'all', '', DEFAULT_SORT))).toEqual(['S1', 'S2', 'S4', 'S9', 'S3', 'S10']);
    expect(ids(odd)).toEqual(before);
  });
});

describe('sorting and filters', () => {
  it('flips the direction on the same column and starts ascending on another', () => {
    expect(nextSort({ key: 'share', direction: 'asc' }, 'share')).toEqual({ key: 'share', direction: 'desc' });
    expect(nextSort({ key: 'share', direction: 'desc' }, 'name')).toEqual({ key: 'name', direction: 'asc' });
  });

  it('reads a filter from the URL, anything else as all', () => {
    expect(parseFilter('stuck')).toBe('stuck');
    expect(parseFilter('bad')).toBe('bad');
    expect(parseFilter('ok')).toBe('all');
    expect(parseFilter(null)).toBe('all');
    expect(parseFilter('<script>')).toBe('all');
  });

  it('counts every filter from the API totals, a missing reason as 0', () => {
    const counts = filterCounts({ good: 7, bad: 3, by_reason: { no_data: 2, stuck: 1, extra: 5 } });
    expect(counts).toMatchObject({ all: 10, good: 7, bad: 3, no_data: 2, stuck: 1, implausible: 0, intermittent: 0 });
  });
});

describe('formatting', () => {
  it('never rounds a share up to a full 100 %', () => {
    expect(formatShare(1)).toBe('100.0 %');
    expect(formatShare(0.9996)).toBe('99.9 %');
    expect(formatShare(0)).toBe('0.0 %');
    expect(formatShare(Number.NaN)).toBe('—');
  });

  it('checks and steps calendar dates', () => {
    expect(isDate('2026-11-26')).toBe(true);
    expect(isDate('2026-02-30')).toBe(false);
    expect(isDate('26-11-2026')).toBe(false);
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });

  it('shows a time in the network time zone', () => {
    expect(localTime('2026-11-26T20:30:00Z', 'America/Los_Angeles')).toBe('12:30');
    expect(localTime('2026-11-26T20:30:00Z', 'Not/AZone')).toBe('20:30');
    expect(localTime('nope', 'UTC')).toBe('');
  });

  it('names the day in the network time zone', () => {
    const t = Date.parse('2026-11-27T03:00:00Z');
    expect(todayIn('America/Los_Angeles', t)).toBe('2026-11-26');
    expect(todayIn('Asia/Tokyo', t)).toBe('2026-11-27');
    expect(todayIn('Not/AZone', t)).toBe('2026-11-27');
  });

  it('opens on today, or on the last day with data when the data stops before today', () => {
    expect(defaultDay({ today: '2026-11-26', last_day: '2026-11-26' })).toBe('2026-11-26');
    expect(defaultDay({ today: '2026-11-26', last_day: '2012-06-30' })).toBe('2012-06-30');
    expect(defaultDay({ today: '2026-11-26', last_day: null })).toBe('2026-11-26');
  });

  it('says which days have data', () => {
    expect(dataRangeText({ first_day: '2012-03-01', last_day: '2012-06-30' })).toBe('Data from 2012-03-01 to 2012-06-30.');
    expect(dataRangeText({ first_day: '2026-11-26', last_day: '2026-11-26' })).toBe('Data on 2026-11-26.');
    expect(dataRangeText({ first_day: null, last_day: null })).toBe('No traffic data stored yet.');
  });
});
