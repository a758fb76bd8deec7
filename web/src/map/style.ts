// The MapLibre style: a plain background plus our segment layers, with no tile,
// glyph or sprite URLs, so the map works without internet access.
import type { ExpressionSpecification, StyleSpecification } from 'maplibre-gl';
import { BAND_COLORS } from '../bands';
import type { SegmentLayerData } from './geojson';

export const SEGMENT_SOURCE = 'segments';
export const LINE_LAYER = 'segments-line';
export const POINT_LAYER = 'segments-point';
export const LINE_SELECTED_LAYER = 'segments-line-selected';
export const POINT_SELECTED_LAYER = 'segments-point-selected';
/** Layers a click or hover can hit. */
export const INTERACTIVE_LAYERS = [LINE_LAYER, POINT_LAYER];

export const BACKGROUND_COLOR = '#161a20';
const CASING_COLOR = '#07090c';
const SELECTED_COLOR = '#ffffff';

// Colour comes from feature-state "band" (set per segment as data arrives), so a
// speed update is a setFeatureState call instead of re-uploading the whole GeoJSON.
const bandColor: ExpressionSpecification = [
  'match',
  ['coalesce', ['feature-state', 'band'], 'nodata'],
  'fast',
  BAND_COLORS.fast,
  'moderate',
  BAND_COLORS.moderate,
  'slow',
  BAND_COLORS.slow,
  BAND_COLORS.nodata,
];

const selectedOpacity: ExpressionSpecification = [
  'case',
  ['boolean', ['feature-state', 'selected'], false],
  1,
  0,
];

// ~4–5 px at the zoom a metro network fits in, thicker when zoomed in.
const lineWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 3, 11, 4.5, 16, 9];
const casingWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 5, 11, 7, 16, 13];
const selectedWidth: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 9, 11, 11, 16, 18];
const pointRadius: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 3.5, 11, 5, 16, 9];
// MapLibre only allows ["zoom"] at the top of an expression, hence a second curve.
const selectedPointRadius: ExpressionSpecification = ['interpolate', ['linear'], ['zoom'], 8, 7.5, 11, 9, 16, 13];

const isLine: ExpressionSpecification = ['==', ['geometry-type'], 'LineString'];
const isPoint: ExpressionSpecification = ['==', ['geometry-type'], 'Point'];

export function buildMapStyle(data: SegmentLayerData): StyleSpecification {
  return {
    version: 8,
    sources: {
      [SEGMENT_SOURCE]: { type: 'geojson', data: data.collection },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': BACKGROUND_COLOR } },
      {
        id: LINE_SELECTED_LAYER,
        type: 'line',
        source: SEGMENT_SOURCE,
        filter: isLine,
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': SELECTED_COLOR, 'line-width': selectedWidth, 'line-opacity': selectedOpacity },
      },
      {
        // A dark casing keeps neighbouring and crossing segments apart visually.
        id: 'segments-line-casing',
        type: 'line',
        source: SEGMENT_SOURCE,
        filter: isLine,
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': CASING_COLOR, 'line-width': casingWidth, 'line-opacity': 0.9 },
      },
      {
        id: LINE_LAYER,
        type: 'line',
        source: SEGMENT_SOURCE,
        filter: isLine,
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': bandColor, 'line-width': lineWidth },
      },
      {
        id: POINT_SELECTED_LAYER,
        type: 'circle',
        source: SEGMENT_SOURCE,
        filter: isPoint,
        paint: {
          'circle-radius': selectedPointRadius,
          'circle-color': SELECTED_COLOR,
          'circle-opacity': selectedOpacity,
        },
      },
      {
        id: POINT_LAYER,
        type: 'circle',
        source: SEGMENT_SOURCE,
        filter: isPoint,
        paint: {
          'circle-radius': pointRadius,
          'circle-color': bandColor,
          'circle-stroke-color': CASING_COLOR,
          'circle-stroke-width': 1.5,
        },
      },
    ],
  };
}
