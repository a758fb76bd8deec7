// The MapLibre style: a base (plain background, or the configured tiles) plus our
// layers. Nothing here needs a tile, glyph or sprite URL, so the map works
// without internet access.
//
// Drawing cost matters at 10 000 segments (bench/browser_map.py): without a GPU
// (headless Chromium, SwiftShader) a repaint of every segment dominated each
// live update. Butt caps and miter joins cut a line's triangles several-fold
// against round ones, the dark casing only appears once zoomed in (where few
// segments are in view), and the selection is its own one-feature source rather
// than an invisible layer over every segment.
import type { FeatureCollection } from 'geojson';
import type {
  ExpressionSpecification,
  FilterSpecification,
  LayerSpecification,
  SourceSpecification,
  StyleSpecification,
} from 'maplibre-gl';
import { BAND_COLORS } from '../bands';
import { SEVERITY_COLORS } from './alerts';
import type { BaseMap } from './baseMap';
import { FORECAST_COLOR } from './forecast';

export const SEGMENT_SOURCE = 'segments';
export const ALERT_SOURCE = 'alerts';
export const SELECTED_SOURCE = 'selected';
export const BASE_SOURCE = 'base';

export const LINE_LAYER = 'segments-line';
export const POINT_LAYER = 'segments-point';
export const CASING_LAYER = 'segments-line-casing';
export const FORECAST_CASING_LAYER = 'forecast-line-casing';
export const FORECAST_LINE_LAYER = 'forecast-line';
export const FORECAST_POINT_LAYER = 'forecast-point';
export const SELECTED_LINE_LAYER = 'selected-line';
export const SELECTED_POINT_LAYER = 'selected-point';
export const ALERT_LAYER = 'alerts-icon';

/** Layers a click or hover can hit. */
export const INTERACTIVE_LAYERS = [LINE_LAYER, POINT_LAYER, FORECAST_LINE_LAYER, FORECAST_POINT_LAYER, ALERT_LAYER];

/** The layers each toggle shows or hides. */
export const LAYER_GROUPS = {
  speeds: [CASING_LAYER, LINE_LAYER, POINT_LAYER],
  forecast: [FORECAST_CASING_LAYER, FORECAST_LINE_LAYER, FORECAST_POINT_LAYER],
  alerts: [ALERT_LAYER],
} as const;

export type LayerGroup = keyof typeof LAYER_GROUPS;

export const BACKGROUND_COLOR = '#161a20';
const CASING_COLOR = '#07090c';
const SELECTED_COLOR = '#ffffff';
export const ALERT_ICON = (severity: string) => `alert-${severity}`;

function bandColor(stateKey: string): ExpressionSpecification {
  // Colour comes from feature-state (set per segment as data arrives), so a speed
  // update is a setFeatureState call instead of re-uploading the whole GeoJSON.
  return [
    'match',
    ['coalesce', ['feature-state', stateKey], 'nodata'],
    'fast',
    BAND_COLORS.fast,
    'moderate',
    BAND_COLORS.moderate,
    'slow',
    BAND_COLORS.slow,
    BAND_COLORS.nodata,
  ];
}

const hasForecast: ExpressionSpecification = ['!=', ['coalesce', ['feature-state', 'fband'], 'nodata'], 'nodata'];

// MapLibre only allows ["zoom"] at the top of an expression, hence one curve per use.
const lineWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 2, 11, 3, 14, 5, 17, 9];
const casingWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 12, 6, 14, 8, 17, 13];
const selectedWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 8, 11, 9, 14, 12, 17, 18];
// The forecast runs beside the segment, on the right of its direction of travel,
// so both directions of a road and the live colour underneath stay visible.
const forecastOffset: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 3.5, 11, 4.75, 14, 6.5, 17, 10];
const forecastCasingWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 4, 11, 5.5, 14, 7, 17, 10];
const forecastInnerWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 2, 11, 2.5, 14, 3.5, 17, 5];
const pointRadius: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 3.5, 11, 5, 16, 9];
const forecastPointRadius: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 3, 11, 4, 16, 7];
const selectedPointRadius: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 7.5, 11, 9, 16, 13];
const alertIconSize: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 0.8, 12, 1, 16, 1.3];

const isLine: FilterSpecification = ['==', ['geometry-type'], 'LineString'];
const isPoint: FilterSpecification = ['==', ['geometry-type'], 'Point'];

/** The base under our layers: a style object, or the URL of a MapLibre style. */
export function baseStyle(base: BaseMap): StyleSpecification | string {
  if (base.kind === 'style') return base.url;
  const style: StyleSpecification = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': BACKGROUND_COLOR } }],
  };
  if (base.kind === 'raster' || base.kind === 'pmtiles') {
    style.sources[BASE_SOURCE] =
      base.kind === 'raster'
        ? { type: 'raster', tiles: [base.tiles], tileSize: 256, maxzoom: 19 }
        : { type: 'raster', url: base.url, tileSize: 256 };
    // Dimmed and desaturated so the speed colours stay the loudest thing on screen.
    style.layers.push({
      id: 'base-raster',
      type: 'raster',
      source: BASE_SOURCE,
      paint: { 'raster-saturation': -0.7, 'raster-brightness-max': 0.55, 'raster-opacity': 0.9 },
    });
  }
  return style;
}

/** Our sources, added once the base has loaded. */
export function trafficSources(segments: FeatureCollection): Record<string, SourceSpecification> {
  const empty: FeatureCollection = { type: 'FeatureCollection', features: [] };
  return {
    // No simplification: segments are short, and a simplified line would not
    // meet its neighbour.
    [SEGMENT_SOURCE]: { type: 'geojson', data: segments, tolerance: 0 },
    [SELECTED_SOURCE]: { type: 'geojson', data: empty },
    [ALERT_SOURCE]: { type: 'geojson', data: empty },
  };
}

/** Our layers, bottom to top. */
export function trafficLayers(): LayerSpecification[] {
  const lineLayout = { 'line-cap': 'butt', 'line-join': 'miter' } as const;
  return [
    {
      id: SELECTED_LINE_LAYER,
      type: 'line',
      source: SELECTED_SOURCE,
      filter: isLine,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': SELECTED_COLOR, 'line-width': selectedWidth },
    },
    {
      id: SELECTED_POINT_LAYER,
      type: 'circle',
      source: SELECTED_SOURCE,
      filter: isPoint,
      paint: { 'circle-radius': selectedPointRadius, 'circle-color': SELECTED_COLOR },
    },
    {
      // A dark casing keeps neighbouring and crossing segments apart once zoomed in.
      id: CASING_LAYER,
      type: 'line',
      source: SEGMENT_SOURCE,
      minzoom: 12,
      filter: isLine,
      layout: lineLayout,
      paint: { 'line-color': CASING_COLOR, 'line-width': casingWidth, 'line-opacity': 0.9 },
    },
    {
      id: LINE_LAYER,
      type: 'line',
      source: SEGMENT_SOURCE,
      filter: isLine,
      layout: lineLayout,
      paint: { 'line-color': bandColor('band'), 'line-width': lineWidth },
    },
    {
      id: POINT_LAYER,
      type: 'circle',
      source: SEGMENT_SOURCE,
      filter: isPoint,
      paint: {
        'circle-radius': pointRadius,
        'circle-color': bandColor('band'),
        'circle-stroke-color': CASING_COLOR,
        'circle-stroke-width': 1.5,
      },
    },
    {
      // Purple marks a prediction: a purple line beside the segment whose core
      // takes the forecast's speed band. Faint where there is no forecast.
      id: FORECAST_CASING_LAYER,
      type: 'line',
      source: SEGMENT_SOURCE,
      filter: isLine,
      layout: { ...lineLayout, visibility: 'none' },
      paint: {
        'line-color': FORECAST_COLOR,
        'line-width': forecastCasingWidth,
        'line-offset': forecastOffset,
        'line-opacity': ['case', hasForecast, 1, 0.25],
      },
    },
    {
      id: FORECAST_LINE_LAYER,
      type: 'line',
      source: SEGMENT_SOURCE,
      filter: isLine,
      layout: { ...lineLayout, visibility: 'none' },
      paint: {
        'line-color': bandColor('fband'),
        'line-width': forecastInnerWidth,
        'line-offset': forecastOffset,
        'line-opacity': ['case', hasForecast, 1, 0],
      },
    },
    {
      id: FORECAST_POINT_LAYER,
      type: 'circle',
      source: SEGMENT_SOURCE,
      filter: isPoint,
      layout: { visibility: 'none' },
      paint: {
        'circle-radius': forecastPointRadius,
        'circle-color': bandColor('fband'),
        'circle-stroke-color': FORECAST_COLOR,
        'circle-stroke-width': 2,
        'circle-translate': [8, -8],
      },
    },
    {
      id: ALERT_LAYER,
      type: 'symbol',
      source: ALERT_SOURCE,
      layout: {
        'icon-image': ['concat', 'alert-', ['get', 'severity']],
        'icon-size': alertIconSize,
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
        'symbol-sort-key': ['get', 'rank'],
        'icon-anchor': 'bottom',
      },
    },
  ];
}

/** A warning triangle with an exclamation mark, drawn on a canvas: no sprite download. */
export function alertIcon(severity: keyof typeof SEVERITY_COLORS, size = 32): ImageData {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas for the alert icons');
  const s = size;
  ctx.beginPath();
  ctx.moveTo(s / 2, 1.5);
  ctx.lineTo(s - 1.5, s - 2.5);
  ctx.lineTo(1.5, s - 2.5);
  ctx.closePath();
  ctx.fillStyle = SEVERITY_COLORS[severity];
  ctx.fill();
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#0b0d10';
  ctx.stroke();
  ctx.fillStyle = '#0b0d10';
  ctx.fillRect(s / 2 - 1.75, s * 0.34, 3.5, s * 0.3);
  ctx.fillRect(s / 2 - 1.75, s * 0.71, 3.5, 3.5);
  return ctx.getImageData(0, 0, s, s);
}
