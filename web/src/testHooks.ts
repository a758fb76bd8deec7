// What the map exposes on `window.__trafficcast` so browser checks and the
// benchmark can find a rendered segment, read what the map applied to it and
// count live updates, without guessing pixels.
import type { Map as MapLibreMap } from 'maplibre-gl';

export interface MapLiveStats {
  /** Live store flushes the map handled. */
  flushes: number;
  /** Segment readings those flushes carried. */
  segmentsUpdated: number;
  /** Feature-state changes they caused (band changes only). */
  bandChanges: number;
}

export interface TrafficcastTestHooks {
  map: MapLibreMap;
  /** Layers whose features are clickable segments. */
  interactiveLayers: readonly string[];
  /** Page coordinates of a segment's anchor (a point on its line), or null when unknown. */
  pointOf(segmentId: string): { x: number; y: number } | null;
  /** The bands the map applied: speeds (live or past) and forecast. */
  bandsOf(segmentId: string): { band: string | null; fband: string | null };
  stats: MapLiveStats;
  /** The live store's version: it moves on every flush, whether or not the map listens. */
  liveVersion(): number;
}

declare global {
  interface Window {
    __trafficcast?: TrafficcastTestHooks;
  }
}
