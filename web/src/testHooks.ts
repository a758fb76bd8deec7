// What the page exposes on `window.__trafficcast` so the browser end-to-end test
// can find a rendered segment to click without guessing pixels.
import type { Map as MapLibreMap } from 'maplibre-gl';

export interface TrafficcastTestHooks {
  map: MapLibreMap;
  /** Layers whose features are clickable segments. */
  interactiveLayers: readonly string[];
}

declare global {
  interface Window {
    __trafficcast?: TrafficcastTestHooks;
  }
}
