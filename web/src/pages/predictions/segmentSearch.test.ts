import { describe, expect, it } from 'vitest';
import type { Segment } from '../../types';
import { searchSegments, segmentLabel } from './segmentSearch';

function seg(segment_id: string, name: string, road = 'I-5'): Segment {
  return {
    segment_id,
    name,
    road,
    direction: 'N',
    latitude: 0,
    longitude: 0,
    free_flow_speed: null,
    length_miles: null,
    lanes: null,
    geometry: null,
  };
}

const SEGMENTS = [seg('S10', 'Main St'), seg('S1', 'Oak Ave'), seg('X1', 'S1 bypass'), seg('S100', 'Elm', 'US-101')];

describe('segment search', () => {
  it('ranks the exact id first, then id prefixes, then names', () => {
    expect(searchSegments(SEGMENTS, 's1').map((s) => s.segment_id)).toEqual(['S1', 'S10', 'S100', 'X1']);
    expect(searchSegments(SEGMENTS, 'oak').map((s) => s.segment_id)).toEqual(['S1']);
    expect(searchSegments(SEGMENTS, 'us-101').map((s) => s.segment_id)).toEqual(['S100']);
    expect(searchSegments(SEGMENTS, 'nothing')).toEqual([]);
  });

  it('lists the first ones for an empty query, within the limit', () => {
    expect(searchSegments(SEGMENTS, '  ', 2).map((s) => s.segment_id)).toEqual(['S10', 'S1']);
    expect(searchSegments(SEGMENTS, 's', 1)).toHaveLength(1);
  });

  it('labels a segment by id and name', () => {
    expect(segmentLabel(seg('S1', 'Oak Ave'))).toBe('S1 · Oak Ave N');
    expect(segmentLabel(seg('S1', 'S1'))).toBe('S1');
  });
});
