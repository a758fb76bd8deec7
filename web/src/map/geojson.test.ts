import { describe, expect, it } from 'vitest';
import type { Segment } from '../types';
import { buildSegmentLayerData, collectionBounds, featureBounds, lineAnchor } from './geojson';

function segment(id: string, overrides: Partial<Segment> = {}): Segment {
  return {
    segment_id: id,
    name: `Segment ${id}`,
    road: 'I-5',
    direction: 'N',
    latitude: 34.1,
    longitude: -118.2,
    free_flow_speed: 65,
    length_miles: 0.5,
    lanes: 4,
    geometry: null,
    ...overrides,
  };
}

describe('buildSegmentLayerData', () => {
  it('draws geometry as lines and the rest as points, with numeric ids', () => {
    const data = buildSegmentLayerData([
      segment('S1', {
        geometry: [
          [-118.2, 34.1],
          [-118.21, 34.11],
        ],
      }),
      segment('S2', { latitude: 34.2, longitude: -118.3 }),
    ]);
    expect(data.collection.features).toEqual([
      {
        type: 'Feature',
        id: 0,
        geometry: {
          type: 'LineString',
          coordinates: [
            [-118.2, 34.1],
            [-118.21, 34.11],
          ],
        },
        properties: { segment_id: 'S1', name: 'Segment S1' },
      },
      {
        type: 'Feature',
        id: 1,
        geometry: { type: 'Point', coordinates: [-118.3, 34.2] },
        properties: { segment_id: 'S2', name: 'Segment S2' },
      },
    ]);
    expect(data.featureIds.get('S2')).toBe(1);
    expect(data.segmentIds).toEqual(['S1', 'S2']);
  });

  it('falls back to a point when the geometry is unusable', () => {
    const data = buildSegmentLayerData([
      segment('S1', { geometry: [[-118.2, 34.1]] }),
      segment('S2', { geometry: [[-118.2, 34.1], [Number.NaN, 34], [999, 34]] }),
    ]);
    expect(data.collection.features.map((f) => f.geometry.type)).toEqual(['Point', 'Point']);
  });

  it('leaves out segments with no location at all and duplicate ids', () => {
    const data = buildSegmentLayerData([
      segment('S1', { latitude: Number.NaN }),
      segment('S2'),
      segment('S2', { latitude: 35 }),
    ]);
    expect(data.segmentIds).toEqual(['S2']);
    expect(data.featureIds.get('S2')).toBe(0);
    expect(data.featureIds.has('S1')).toBe(false);
  });
});

describe('collectionBounds', () => {
  it('covers every coordinate', () => {
    const data = buildSegmentLayerData([
      segment('S1', {
        geometry: [
          [-118.5, 34.0],
          [-118.1, 34.3],
        ],
      }),
      segment('S2', { latitude: 33.9, longitude: -118.2 }),
    ]);
    expect(collectionBounds(data.collection)).toEqual([
      [-118.5, 33.9],
      [-118.1, 34.3],
    ]);
  });

  it('is null for an empty network', () => {
    expect(collectionBounds(buildSegmentLayerData([]).collection)).toBeNull();
  });
});

describe('anchors', () => {
  it('puts a line anchor in the middle of its middle piece and a point on itself', () => {
    const data = buildSegmentLayerData([
      segment('S1', {
        geometry: [
          [-118.0, 34.0],
          [-118.0, 34.2],
          [-118.2, 34.2],
        ],
      }),
      segment('S2', { latitude: 33.9, longitude: -118.2 }),
    ]);
    expect(data.anchors.get('S1')).toEqual([-118.0, 34.1]);
    expect(data.anchors.get('S2')).toEqual([-118.2, 33.9]);
    expect(lineAnchor([[1, 2]])).toEqual([1, 2]);
    expect(featureBounds(data.collection.features[0]!)).toEqual([
      [-118.2, 34.0],
      [-118.0, 34.2],
    ]);
  });
});
