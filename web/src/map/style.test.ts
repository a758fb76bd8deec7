import { describe, expect, it } from 'vitest';
import { FORECAST_COLOR } from './forecast';
import {
  ALERT_LAYER,
  FORECAST_CASING_LAYER,
  FORECAST_LINE_LAYER,
  INTERACTIVE_LAYERS,
  LAYER_GROUPS,
  LINE_LAYER,
  baseStyle,
  trafficLayers,
} from './style';

const layers = trafficLayers();
const byId = new Map(layers.map((layer) => [layer.id, layer]));

describe('trafficLayers', () => {
  it('draws the forecast in purple beside the segment, its core in the forecast band', () => {
    const casing = byId.get(FORECAST_CASING_LAYER);
    const core = byId.get(FORECAST_LINE_LAYER);
    expect(casing?.type).toBe('line');
    expect(casing && 'paint' in casing && casing.paint?.['line-color' as never]).toBe(FORECAST_COLOR);
    const coreColor = JSON.stringify(core && 'paint' in core ? core.paint : null);
    expect(coreColor).toContain('"feature-state","fband"');
    expect(JSON.stringify(casing)).toContain('line-offset');
    expect(JSON.stringify(core)).toContain('line-offset');
  });

  it('colours live speeds from the "band" feature-state', () => {
    expect(JSON.stringify(byId.get(LINE_LAYER))).toContain('"feature-state","band"');
  });

  it('starts with the forecast hidden and every toggled layer defined', () => {
    for (const id of LAYER_GROUPS.forecast) {
      const layer = byId.get(id);
      expect(layer && 'layout' in layer ? layer.layout?.['visibility' as never] : undefined).toBe('none');
    }
    for (const id of [...Object.values(LAYER_GROUPS).flat(), ...INTERACTIVE_LAYERS]) expect(byId.has(id)).toBe(true);
  });

  it('draws alert icons above everything else', () => {
    expect(layers.at(-1)?.id).toBe(ALERT_LAYER);
  });

  it('uses butt caps on the every-segment lines (far fewer triangles than round)', () => {
    for (const id of [LINE_LAYER, FORECAST_CASING_LAYER, FORECAST_LINE_LAYER]) {
      expect(JSON.stringify(byId.get(id))).toContain('"line-cap":"butt"');
    }
  });
});

describe('baseStyle', () => {
  it('is a plain background without a base map, with no network URL in it', () => {
    const style = baseStyle({ kind: 'none' });
    expect(typeof style).toBe('object');
    expect(JSON.stringify(style)).not.toMatch(/https?:|glyphs|sprite/);
  });

  it('puts raster XYZ and PMTiles bases under everything', () => {
    const xyz = baseStyle({ kind: 'raster', tiles: 'https://t.example/{z}/{x}/{y}.png', attribution: null });
    expect(xyz).toMatchObject({ sources: { base: { type: 'raster', tiles: ['https://t.example/{z}/{x}/{y}.png'] } } });
    const pm = baseStyle({ kind: 'pmtiles', url: 'pmtiles://https://x.example/a.pmtiles', attribution: null });
    expect(pm).toMatchObject({ sources: { base: { type: 'raster', url: 'pmtiles://https://x.example/a.pmtiles' } } });
  });

  it('hands a style URL to MapLibre as is', () => {
    expect(baseStyle({ kind: 'style', url: 'https://x.example/style.json', attribution: null })).toBe(
      'https://x.example/style.json',
    );
  });
});
