import { describe, expect, it } from 'vitest';
import { baseMapOf } from './baseMap';

describe('baseMapOf', () => {
  it('is none without a URL', () => {
    expect(baseMapOf(null)).toEqual({ kind: 'none' });
    expect(baseMapOf({ tiles_url: null, attribution: 'x' })).toEqual({ kind: 'none' });
    expect(baseMapOf({ tiles_url: '  ', attribution: null })).toEqual({ kind: 'none' });
  });

  it('recognises XYZ templates, PMTiles archives and style URLs', () => {
    expect(baseMapOf({ tiles_url: 'https://t.example/{z}/{x}/{y}.png', attribution: ' © OSM ' })).toEqual({
      kind: 'raster',
      tiles: 'https://t.example/{z}/{x}/{y}.png',
      attribution: '© OSM',
    });
    expect(baseMapOf({ tiles_url: 'pmtiles://https://x.example/city.pmtiles', attribution: null })).toEqual({
      kind: 'pmtiles',
      url: 'pmtiles://https://x.example/city.pmtiles',
      attribution: null,
    });
    expect(baseMapOf({ tiles_url: 'https://x.example/style.json?key=1', attribution: '' })).toEqual({
      kind: 'style',
      url: 'https://x.example/style.json?key=1',
      attribution: null,
    });
  });

  it('draws nothing for URLs it cannot use', () => {
    for (const url of ['javascript:alert(1)', 'file:///x/{z}/{x}/{y}', 'https://x.example/a.png', 'pmtiles://file.pmtiles', 'not a url']) {
      expect(baseMapOf({ tiles_url: url, attribution: null })).toEqual({ kind: 'none' });
    }
  });
});
