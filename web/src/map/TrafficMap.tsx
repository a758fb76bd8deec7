// The full-window map: one GeoJSON source of all segments, coloured through
// feature-state as live readings arrive.
import './maplibreWorker';
import 'maplibre-gl/dist/maplibre-gl.css';
import { Map as MapLibreMap, NavigationControl, ScaleControl, type PointLike } from 'maplibre-gl';
import { useEffect, useRef, useState } from 'react';
import { speedColor } from '../bands';
import { formatSpeed } from '../format';
import type { LiveStore } from '../liveStore';
import { BandStateSync } from './bandSync';
import { collectionBounds, type SegmentLayerData } from './geojson';
import { buildMapStyle, INTERACTIVE_LAYERS, SEGMENT_SOURCE } from './style';

interface TrafficMapProps {
  layerData: SegmentLayerData;
  store: LiveStore;
  selectedId: string | null;
  onSelect: (segmentId: string) => void;
}

interface Hover {
  segmentId: string;
  name: string;
  x: number;
  y: number;
}

/** Maps already removed, so effects cleaning up after them leave them alone. */
const removedMaps = new WeakSet<MapLibreMap>();

/** Lines are a few pixels wide: accept clicks a little off the stroke. */
const HIT_TOLERANCE_PX = 5;

function segmentAt(map: MapLibreMap, x: number, y: number): { segmentId: string; name: string } | null {
  const box: [PointLike, PointLike] = [
    [x - HIT_TOLERANCE_PX, y - HIT_TOLERANCE_PX],
    [x + HIT_TOLERANCE_PX, y + HIT_TOLERANCE_PX],
  ];
  const [feature] = map.queryRenderedFeatures(box, { layers: INTERACTIVE_LAYERS });
  const segmentId: unknown = feature?.properties.segment_id;
  if (typeof segmentId !== 'string') return null;
  const name: unknown = feature?.properties.name;
  return { segmentId, name: typeof name === 'string' ? name : segmentId };
}

export function TrafficMap({ layerData, store, selectedId, onSelect }: TrafficMapProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const [map, setMap] = useState<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [hover, setHover] = useState<Hover | null>(null);
  const onSelectRef = useRef(onSelect);

  useEffect(() => {
    onSelectRef.current = onSelect;
  }, [onSelect]);

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const bounds = collectionBounds(layerData.collection);
    const instance = new MapLibreMap({
      container,
      style: buildMapStyle(layerData),
      ...(bounds ? { bounds, fitBoundsOptions: { padding: 48, maxZoom: 14 } } : { center: [0, 0], zoom: 1 }),
      attributionControl: false,
      // A flat network view: rotation and pitch only confuse without a basemap.
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      maxPitch: 0,
    });
    instance.touchZoomRotate.disableRotation();
    // Left side: the detail panel opens on the right.
    instance.addControl(new NavigationControl({ showCompass: false }), 'top-left');
    instance.addControl(new ScaleControl({ unit: 'imperial' }), 'bottom-left');

    const sync = new BandStateSync(instance, SEGMENT_SOURCE, layerData.featureIds);
    const readingOf = (segmentId: string) => store.reading(segmentId);
    let unsubscribe: () => void = () => undefined;
    instance.on('load', () => {
      sync.update(layerData.segmentIds, readingOf);
      unsubscribe = store.subscribe((changed) => sync.update(changed, readingOf));
      instance.once('idle', () => setReady(true));
    });
    instance.on('click', (event) => {
      const hit = segmentAt(instance, event.point.x, event.point.y);
      if (hit) onSelectRef.current(hit.segmentId);
    });
    instance.on('mousemove', (event) => {
      const hit = segmentAt(instance, event.point.x, event.point.y);
      instance.getCanvas().style.cursor = hit ? 'pointer' : '';
      setHover(hit ? { ...hit, x: event.point.x, y: event.point.y } : null);
    });
    instance.on('mouseout', () => setHover(null));

    window.__trafficcast = { map: instance, interactiveLayers: INTERACTIVE_LAYERS };
    setMap(instance);
    return () => {
      unsubscribe();
      delete window.__trafficcast;
      setMap(null);
      setReady(false);
      removedMaps.add(instance);
      instance.remove();
    };
  }, [layerData, store]);

  useEffect(() => {
    if (!map || !ready || selectedId === null) return;
    const id = layerData.featureIds.get(selectedId);
    if (id === undefined) return;
    map.setFeatureState({ source: SEGMENT_SOURCE, id }, { selected: true });
    return () => {
      // The map may already be gone when the page unmounts.
      if (!removedMaps.has(map)) map.setFeatureState({ source: SEGMENT_SOURCE, id }, { selected: false });
    };
  }, [map, ready, selectedId, layerData]);

  const hoverReading = hover ? store.reading(hover.segmentId) : undefined;
  return (
    <div className="map-wrap">
      <div ref={containerRef} className="map" data-ready={ready ? 'true' : 'false'} aria-label="Traffic map" />
      {hover && (
        <div className="map-tooltip" style={{ left: hover.x, top: hover.y }}>
          <span className="swatch" style={{ background: speedColor(hoverReading?.speed) }} />
          <span className="tooltip-name">{hover.name}</span>
          <span className="tooltip-speed">{formatSpeed(hoverReading?.speed)}</span>
        </div>
      )}
    </div>
  );
}
