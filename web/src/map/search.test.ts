import { describe, expect, it } from 'vitest';
import type { Segment } from '../types';
import { moveActive, normalizeQuery, searchSegments } from './search';

function segment(id: string, name: string, road = 'I-5', direction = 'N'): Segment {
  return {
    segment_id: id,
    name,
    road,
    direction,
    latitude: 34,
    longitude: -118,
    free_flow_speed: 65,
    length_miles: 0.5,
    lanes: 3,
    geometry: null,
  };
}

const CATALOG = [
  segment('AV1-N-000', 'Ave 1 N @ mile 0.0', 'Ave 1', 'N'),
  segment('AV1-N-001', 'Ave 1 N @ mile 0.8', 'Ave 1', 'N'),
  segment('AV10-S-003', 'Ave 10 S @ mile 2.4', 'Ave 10', 'S'),
  segment('FWY-E-002', 'Harbor Fwy E @ mile 1.6', 'Harbor Fwy', 'E'),
  segment('X-1', 'Main St'),
];

const ids = (text: string, limit?: number) => searchSegments(CATALOG, text, limit).map((h) => h.segment.segment_id);

describe('searchSegments', () => {
  it('puts an exact id first, then id prefixes', () => {
    expect(ids('av1-n-001')).toEqual(['AV1-N-001']);
    expect(ids('AV1')).toEqual(['AV1-N-000', 'AV1-N-001', 'AV10-S-003']);
  });

  it('finds names by prefix, by word prefix and by all words anywhere', () => {
    expect(ids('harbor')).toEqual(['FWY-E-002']);
    expect(ids('fwy e')).toEqual(['FWY-E-002']);
    expect(ids('mile 2.4')).toEqual(['AV10-S-003']);
    expect(ids('  MAIN   st ')).toEqual(['X-1']);
    expect(ids('ave 10 s')).toEqual(['AV10-S-003']);
  });

  it('ranks better matches first and keeps catalog order among equals', () => {
    const hits = searchSegments(CATALOG, 'ave 1');
    expect(hits.map((h) => h.rank)).toEqual([2, 2, 2]);
    expect(hits.map((h) => h.segment.segment_id)).toEqual(['AV1-N-000', 'AV1-N-001', 'AV10-S-003']);
  });

  it('finds nothing for empty or unmatched queries and honours the limit', () => {
    expect(ids('')).toEqual([]);
    expect(ids('   ')).toEqual([]);
    expect(ids('nowhere')).toEqual([]);
    expect(ids('ave', 2)).toHaveLength(2);
    expect(ids('ave', 0)).toEqual([]);
  });

  it('treats regex and markup characters as text', () => {
    expect(ids('.*')).toEqual([]);
    expect(ids('<script>')).toEqual([]);
  });
});

describe('normalizeQuery', () => {
  it('folds case, width and spaces', () => {
    expect(normalizeQuery('  Ａve\t 1  ')).toBe('ave 1');
  });
});

describe('moveActive', () => {
  it('wraps around with the arrow keys', () => {
    expect(moveActive(-1, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(-1, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(1, 3, 'ArrowUp')).toBe(0);
    expect(moveActive(0, 0, 'ArrowDown')).toBe(-1);
  });
});
