// The traffic map: one GeoJSON source of all segments, coloured through
// feature-state (live or past speeds under "band", forecasts under "fband"),
// plus small sources for the selection and the alert icons.
import './maplibreWorker';
import 'maplibre-gl/dist/maplibre-gl.css';
import './map.css';
import {
  AttributionControl,
  Map as MapLibreMap,
  NavigationControl,
  ScaleControl,
  type GeoJSONSource,
  type PointLike,
} from 'maplibre-gl';
import { useEffect, useRef, useState } from 'react';
import { BAND_COLORS, speedBand, type BandThresholds } from '../bands';
import { formatSpeed, type SpeedUnit } from '../format';
import type { LiveStore } from '../liveStore';
import type { MapLiveStats } from '../testHooks';
import { fillNote } from '../fill';
import type { Segment, WindowFill } from '../types';
import { alertFeatures, type SegmentAlerts, type Severity } from './alerts';
import type { BaseMap } from './baseMap';
import { BandStateSync } from './bandSync';
import { describeForecast, type ForecastBySegment } from './forecast';
import { collectionBounds, featureBounds, type SegmentLayerData } from './geojson';
import {
  ALERT_ICON,
  ALERT_SOURCE,
  BASE_SOURCE,
  INTERACTIVE_LAYERS,
  LAYER_GROUPS,
  SEGMENT_SOURCE,
  SELECTED_SOURCE,
  alertIcon,
  baseStyle,
  trafficLayers,
  trafficSources,
  type LayerGroup,
} from './style';

export interface MapPadding {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface TrafficMapProps {
  layerData: SegmentLayerData;
  byId: ReadonlyMap<string, Segment>;
  store: LiveStore;
  base: BaseMap;
  limits: BandThresholds;
  unit: SpeedUnit;
  /** Speeds of a past window (the map ignores live updates meanwhile); null = live. */
  pastSpeeds: ReadonlyMap<string, number | null> | null;
  /** How the tooltip names the past window, e.g. "08:00–08:05 UTC". */
  pastLabel: string | null;
  /** Segments whose past window was imputed or missing (absent = measured). */
  pastFills?: ReadonlyMap<string, WindowFill> | null;
  visible: Readonly<Record<LayerGroup, boolean>>;
  forecast: ForecastBySegment | null;
  horizon: number;
  alerts: ReadonlyMap<string, SegmentAlerts>;
  selectedId: string | null;
  /** Fly to this segment; a new object each time (the nonce makes a repeat search fly again). */
  focus: { segmentId: string; nonce: number } | null;
  padding: MapPadding;
  onSelect: (segmentId: string) => void;
}

interface Hover {
  segmentId: string;
  x: number;
  y: number;
  /** Near the right edge the tooltip opens to the left of the pointer. */
  flip: boolean;
}

/** Room the tooltip needs right of the pointer before it flips to the left. */
const TOOLTIP_ROOM_PX = 300;

interface Syncs {
  speeds: BandStateSync;
  forecast: BandStateSync;
}

/** Lines are a few pixels wide: accept clicks a little off the stroke. */
const HIT_TOLERANCE_PX = 5;
const SEVERITIES: readonly Severity[] = ['critical', 'major', 'minor', 'info'];

function segmentAt(map: MapLibreMap, x: number, y: number): string | null {
  const box: [PointLike, PointLike] = [
    [x - HIT_TOLERANCE_PX, y - HIT_TOLERANCE_PX],
    [x + HIT_TOLERANCE_PX, y + HIT_TOLERANCE_PX],
  ];
  const layers = INTERACTIVE_LAYERS.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  if (layers.length === 0) return null;
  const [feature] = map.queryRenderedFeatures(box, { layers });
  const segmentId: unknown = feature?.properties.segment_id;
  return typeof segmentId === 'string' ? segmentId : null;
}

export function TrafficMap(props: TrafficMapProps) {
  const { layerData, store, base, limits, pastSpeeds, visible, forecast, alerts, selectedId, focus } = props;
  const containerRef = useRef<HTMLDivElement>(null);
  const [map, setMap] = useState<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [hover, setHover] = useState<Hover | null>(null);
  const [baseFailed, setBaseFailed] = useState(false);
  const syncsRef = useRef<Syncs | null>(null);
  const statsRef = useRef<MapLiveStats>({ flushes: 0, segmentsUpdated: 0, bandChanges: 0 });
  const onSelectRef = useRef(props.onSelect);
  const paddingRef = useRef(props.padding);

  useEffect(() => {
    onSelectRef.current = props.onSelect;
    paddingRef.current = props.padding;
  });

  // The map itself: rebuilt only when the network or the base map changes.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const bounds = collectionBounds(layerData.collection);
    const instance = new MapLibreMap({
      container,
      style: baseStyle(base),
      ...(bounds
        ? { bounds, fitBoundsOptions: { padding: paddingRef.current, maxZoom: 14 } }
        : { center: [0, 0], zoom: 1 }),
      attributionControl: false,
      // A flat network view: rotation and pitch only confuse on a road map.
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      maxPitch: 0,
    });
    instance.touchZoomRotate.disableRotation();
    instance.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    instance.addControl(new ScaleControl({ unit: 'imperial' }), 'bottom-right');
    if (base.kind !== 'none' && base.attribution) {
      instance.addControl(new AttributionControl({ compact: true, customAttribution: base.attribution }), 'bottom-right');
    }

    const syncs: Syncs = {
      speeds: new BandStateSync(instance, SEGMENT_SOURCE, layerData.featureIds, 'band'),
      forecast: new BandStateSync(instance, SEGMENT_SOURCE, layerData.featureIds, 'fband'),
    };
    instance.on('load', () => {
      for (const severity of SEVERITIES) instance.addImage(ALERT_ICON(severity), alertIcon(severity), { pixelRatio: 2 });
      for (const [id, source] of Object.entries(trafficSources(layerData.collection))) instance.addSource(id, source);
      for (const layer of trafficLayers()) instance.addLayer(layer);
      syncsRef.current = syncs;
      instance.once('idle', () => setReady(true));
    });
    // Without a listener MapLibre logs every failed base tile; a dead tile server
    // (or no internet) is shown once instead, and the segments keep working.
    instance.on('error', (event) => {
      const { sourceId } = event as { sourceId?: string };
      if (sourceId === BASE_SOURCE || (base.kind === 'style' && !sourceId?.startsWith(SEGMENT_SOURCE))) setBaseFailed(true);
      else console.error(event.error);
    });
    instance.on('click', (event) => {
      const hit = segmentAt(instance, event.point.x, event.point.y);
      if (hit) onSelectRef.current(hit);
    });
    instance.on('mousemove', (event) => {
      const hit = segmentAt(instance, event.point.x, event.point.y);
      instance.getCanvas().style.cursor = hit ? 'pointer' : '';
      const flip = event.point.x > instance.getCanvas().clientWidth - TOOLTIP_ROOM_PX;
      setHover(hit ? { segmentId: hit, x: event.point.x, y: event.point.y, flip } : null);
    });
    instance.on('mouseout', () => setHover(null));
    instance.on('movestart', () => setHover(null));

    const stats = statsRef.current;
    window.__trafficcast = {
      map: instance,
      interactiveLayers: INTERACTIVE_LAYERS,
      pointOf: (segmentId) => {
        const anchor = layerData.anchors.get(segmentId);
        if (!anchor) return null;
        const p = instance.project(anchor);
        const box = instance.getCanvas().getBoundingClientRect();
        return { x: box.left + p.x, y: box.top + p.y };
      },
      bandsOf: (segmentId) => ({
        band: syncs.speeds.bandOf(segmentId) ?? null,
        fband: syncs.forecast.bandOf(segmentId) ?? null,
      }),
      stats,
      liveVersion: store.getVersion,
    };
    setMap(instance);
    return () => {
      delete window.__trafficcast;
      syncsRef.current = null;
      setMap(null);
      setReady(false);
      instance.remove();
    };
  }, [layerData, base, store]);

  // Speeds: live readings as they arrive, or one past window, in the operator's bands.
  useEffect(() => {
    const syncs = syncsRef.current;
    if (!ready || !syncs) return;
    syncs.speeds.setLimits(limits);
    if (pastSpeeds) {
      syncs.speeds.update(layerData.segmentIds, (id) => pastSpeeds.get(id));
      return;
    }
    const liveSpeed = (id: string) => store.reading(id)?.speed;
    syncs.speeds.update(layerData.segmentIds, liveSpeed);
    const stats = statsRef.current;
    return store.subscribe((changed) => {
      stats.flushes += 1;
      stats.segmentsUpdated += changed.size;
      stats.bandChanges += syncs.speeds.update(changed, liveSpeed);
    });
  }, [ready, store, pastSpeeds, limits, layerData]);

  useEffect(() => {
    const syncs = syncsRef.current;
    if (!ready || !syncs) return;
    syncs.forecast.setLimits(limits);
    syncs.forecast.update(layerData.segmentIds, (id) => forecast?.get(id)?.predicted_speed);
  }, [ready, forecast, limits, layerData]);

  const { speeds: showSpeeds, forecast: showForecast, alerts: showAlerts } = visible;
  useEffect(() => {
    if (!map || !ready) return;
    const shown: Record<LayerGroup, boolean> = { speeds: showSpeeds, forecast: showForecast, alerts: showAlerts };
    for (const group of Object.keys(LAYER_GROUPS) as LayerGroup[]) {
      for (const id of LAYER_GROUPS[group]) map.setLayoutProperty(id, 'visibility', shown[group] ? 'visible' : 'none');
    }
  }, [map, ready, showSpeeds, showForecast, showAlerts]);

  useEffect(() => {
    if (!map || !ready) return;
    const source = map.getSource<GeoJSONSource>(ALERT_SOURCE);
    source?.setData(alertFeatures(alerts, (id) => layerData.anchors.get(id)));
  }, [map, ready, alerts, layerData]);

  useEffect(() => {
    if (!map || !ready) return;
    const id = selectedId === null ? undefined : layerData.featureIds.get(selectedId);
    const feature = id === undefined ? undefined : layerData.collection.features[id];
    map.getSource<GeoJSONSource>(SELECTED_SOURCE)?.setData({
      type: 'FeatureCollection',
      features: feature ? [feature] : [],
    });
  }, [map, ready, selectedId, layerData]);

  useEffect(() => {
    if (!map || !ready || !focus) return;
    const id = layerData.featureIds.get(focus.segmentId);
    if (id === undefined) return;
    const feature = layerData.collection.features[id];
    if (!feature) return;
    const bounds = featureBounds(feature);
    map.fitBounds(bounds, { padding: paddingRef.current, maxZoom: 15, duration: 600 });
  }, [map, ready, focus, layerData]);

  return (
    <div className="map-wrap">
      <div
        ref={containerRef}
        className="map"
        data-ready={ready ? 'true' : 'false'}
        role="region"
        aria-label="Traffic map"
      />
      {hover && <MapTooltip hover={hover} {...props} />}
      {baseFailed && (
        <p className="map-base-failed" role="status">
          Base map unavailable; segments are drawn on a plain background.
        </p>
      )}
    </div>
  );
}

function MapTooltip({
  hover,
  byId,
  store,
  unit,
  limits,
  pastSpeeds,
  pastLabel,
  pastFills,
  visible,
  forecast,
  horizon,
  alerts,
}: TrafficMapProps & { hover: Hover }) {
  const pastFill = pastSpeeds ? pastFills?.get(hover.segmentId) : undefined;
  const pastNote = fillNote(pastFill);
  const segment = byId.get(hover.segmentId);
  const speed = pastSpeeds ? pastSpeeds.get(hover.segmentId) : store.reading(hover.segmentId)?.speed;
  const segmentAlerts = visible.alerts ? alerts.get(hover.segmentId) : undefined;
  const forecastRow = visible.forecast && forecast ? forecast.get(hover.segmentId) : undefined;
  return (
    <div
      className={`map-tooltip${hover.flip ? ' map-tooltip-flip' : ''}`}
      style={{ left: hover.x, top: hover.y }}
      data-testid="map-tooltip"
      data-segment-id={hover.segmentId}
    >
      <span className="map-tooltip-name">{segment?.name || hover.segmentId}</span>
      <span className="map-tooltip-id">{hover.segmentId}</span>
      <span className="map-tooltip-row">
        <span className="swatch" style={{ background: BAND_COLORS[speedBand(speed, limits)] }} aria-hidden="true" />
        <span>{pastSpeeds ? `Speed ${pastLabel ?? ''}` : 'Speed now'}</span>
        <strong className="map-tooltip-speed" data-testid="tooltip-speed">
          {formatSpeed(speed, unit)}
        </strong>
      </span>
      {pastNote && (
        <span className="map-tooltip-row map-tooltip-fill" data-testid="tooltip-fill" data-fill={pastFill}>
          {pastNote}
        </span>
      )}
      {visible.forecast && (
        <span className="map-tooltip-row map-tooltip-forecast">
          <span
            className="swatch map-forecast-swatch"
            style={{ background: BAND_COLORS[speedBand(forecastRow?.predicted_speed, limits)] }}
            aria-hidden="true"
          />
          <span>Forecast +{horizon} min</span>
          <strong data-testid="tooltip-forecast">{describeForecast(forecastRow, unit)}</strong>
        </span>
      )}
      {segmentAlerts && (
        <span className={`map-tooltip-row map-tooltip-alert map-alert-${segmentAlerts.severity}`}>
          ⚠ {segmentAlerts.top.alert_type} · {segmentAlerts.top.severity}
          {segmentAlerts.count > 1 ? ` (+${segmentAlerts.count - 1} more)` : ''}
        </span>
      )}
    </div>
  );
}
