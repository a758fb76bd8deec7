import { describe, expect, it } from 'vitest';
import { applySnapshot, applyTrafficEvent, summarize, type Readings } from './liveState';
import type { Reading } from './types';

function reading(timestamp: string, speed: number | null): Reading {
  return { timestamp, speed, volume: null, occupancy: null, level_of_service: null };
}

describe('applyTrafficEvent', () => {
  it('always takes the pushed reading, even an older one (replay restart)', () => {
    const readings: Readings = new Map([['S1', reading('2012-03-01T08:05:00Z', 50)]]);
    applyTrafficEvent(readings, 'S1', reading('2012-03-01T00:00:00Z', 20));
    expect(readings.get('S1')?.speed).toBe(20);
  });
});

describe('applySnapshot', () => {
  it('adds new segments and replaces only older readings', () => {
    const readings: Readings = new Map([
      ['S1', reading('2012-03-01T08:10:00Z', 50)],
      ['S2', reading('2012-03-01T08:00:00Z', 40)],
    ]);
    const changed = applySnapshot(readings, [
      { segment_id: 'S1', ...reading('2012-03-01T08:05:00Z', 10) },
      { segment_id: 'S2', ...reading('2012-03-01T08:05:00Z', 65) },
      { segment_id: 'S3', ...reading('2012-03-01T08:05:00Z', 25) },
    ]);
    expect(changed).toEqual(['S2', 'S3']);
    expect(readings.get('S1')?.speed).toBe(50);
    expect(readings.get('S2')?.speed).toBe(65);
    expect(readings.get('S3')).toEqual(reading('2012-03-01T08:05:00Z', 25));
  });
});

describe('summarize', () => {
  it('counts bands over all segments and finds the newest time', () => {
    const readings: Readings = new Map([
      ['S1', reading('2012-03-01T08:05:00Z', 70)],
      ['S2', reading('2012-03-01T08:10:00Z', 45)],
      ['S3', reading('2012-03-01T08:00:00Z', 12)],
      ['S4', reading('2012-03-01T08:00:00Z', null)],
      ['ignored', reading('2013-01-01T00:00:00Z', 70)],
    ]);
    const summary = summarize(['S1', 'S2', 'S3', 'S4', 'S5'], readings);
    expect(summary.counts).toEqual({ fast: 1, moderate: 1, slow: 1, nodata: 2 });
    expect(summary.latestTime).toBe('2012-03-01T08:10:00Z');
  });

  it('has no time before any data', () => {
    expect(summarize(['S1'], new Map()).latestTime).toBeNull();
  });
});
