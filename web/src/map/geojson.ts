// Turns the /api/segments list into the GeoJSON the map draws, plus the mapping
// between segment ids and the numeric feature ids that feature-state needs.
import type { Feature, FeatureCollection, LineString, Point } from 'geojson';
import type { LngLat, Segment } from '../types';

export interface SegmentProperties {
  segment_id: string;
  name: string;
}

export type SegmentFeature = Feature<LineString | Point, SegmentProperties>;

export interface SegmentLayerData {
  collection: FeatureCollection<LineString | Point, SegmentProperties>;
  /** segment_id → numeric feature id (MapLibre's feature-state wants numbers or numeric strings). */
  featureIds: ReadonlyMap<string, number>;
  /** feature id → segment_id, i.e. the inverse of featureIds. */
  segmentIds: readonly string[];
  /** segment_id → the point its alert icon and search fly-to use (a point on the line). */
  anchors: ReadonlyMap<string, LngLat>;
}

export type Bounds = [LngLat, LngLat];

function isLngLat(value: unknown): value is LngLat {
  return (
    Array.isArray(value) &&
    value.length >= 2 &&
    Number.isFinite(value[0]) &&
    Number.isFinite(value[1]) &&
    Math.abs(value[0] as number) <= 180 &&
    Math.abs(value[1] as number) <= 90
  );
}

/** The line to draw, or null when the segment has to be a point. */
function lineCoordinates(segment: Segment): LngLat[] | null {
  if (!Array.isArray(segment.geometry)) return null;
  const coordinates = segment.geometry.filter(isLngLat).map(([lng, lat]): LngLat => [lng, lat]);
  return coordinates.length >= 2 ? coordinates : null;
}

function pointCoordinates(segment: Segment): LngLat | null {
  const point: LngLat = [segment.longitude, segment.latitude];
  return isLngLat(point) ? point : null;
}

/**
 * Segments with a usable geometry become LineStrings, the rest Points at their
 * latitude/longitude; segments with neither are left off the map (they still
 * count as "no data" in the header). Feature ids are the index in the API list.
 */
export function buildSegmentLayerData(segments: readonly Segment[]): SegmentLayerData {
  const features: SegmentFeature[] = [];
  const featureIds = new Map<string, number>();
  const segmentIds: string[] = [];
  const anchors = new Map<string, LngLat>();
  for (const segment of segments) {
    if (featureIds.has(segment.segment_id)) continue;
    const line = lineCoordinates(segment);
    const point = line ? null : pointCoordinates(segment);
    if (!line && !point) continue;
    const id = segmentIds.length;
    featureIds.set(segment.segment_id, id);
    segmentIds.push(segment.segment_id);
    anchors.set(segment.segment_id, line ? lineAnchor(line as [LngLat, ...LngLat[]]) : (point as LngLat));
    features.push({
      type: 'Feature',
      id,
      geometry: line ? { type: 'LineString', coordinates: line } : { type: 'Point', coordinates: point as LngLat },
      properties: { segment_id: segment.segment_id, name: segment.name },
    });
  }
  return { collection: { type: 'FeatureCollection', features }, featureIds, segmentIds, anchors };
}

/** The middle of a line's middle piece: on the line, and away from the ends it shares with neighbours. */
export function lineAnchor(line: readonly [LngLat, ...LngLat[]]): LngLat {
  const k = Math.max(0, Math.floor((line.length - 2) / 2));
  const a = line[k] ?? line[0];
  const b = line[k + 1] ?? a;
  return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
}

/** [[west, south], [east, north]] of one feature. */
export function featureBounds(feature: SegmentFeature): Bounds {
  return collectionBounds({ type: 'FeatureCollection', features: [feature] }) as Bounds;
}

/** [[west, south], [east, north]] of every drawn coordinate, or null when nothing is drawn. */
export function collectionBounds(collection: FeatureCollection<LineString | Point>): Bounds | null {
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  for (const feature of collection.features) {
    const coordinates =
      feature.geometry.type === 'Point' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
    for (const [lng, lat] of coordinates as LngLat[]) {
      west = Math.min(west, lng);
      east = Math.max(east, lng);
      south = Math.min(south, lat);
      north = Math.max(north, lat);
    }
  }
  if (!Number.isFinite(west)) return null;
  return [
    [west, south],
    [east, north],
  ];
}
