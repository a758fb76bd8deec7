// What lies under the segments: nothing (a plain background, which works with no
// internet), raster XYZ tiles, a PMTiles raster archive, or a MapLibre style.
// The server validates TRAFFICCAST_MAP_TILES_URL; this decides how to draw it.

export type BaseMap =
  | { kind: 'none' }
  | { kind: 'raster'; tiles: string; attribution: string | null }
  | { kind: 'pmtiles'; url: string; attribution: string | null }
  | { kind: 'style'; url: string; attribution: string | null };

export const NO_BASE_MAP: BaseMap = { kind: 'none' };

function httpUrl(text: string): boolean {
  try {
    const url = new URL(text.replaceAll('{', '%7B').replaceAll('}', '%7D'));
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The base map of /api/dashboard/config's map settings; anything unusable means none. */
export function baseMapOf(config: { tiles_url: string | null; attribution: string | null } | null | undefined): BaseMap {
  const url = config?.tiles_url?.trim();
  if (!url) return NO_BASE_MAP;
  const attribution = config?.attribution?.trim() || null;
  if (url.startsWith('pmtiles://')) {
    return httpUrl(url.slice('pmtiles://'.length)) ? { kind: 'pmtiles', url, attribution } : NO_BASE_MAP;
  }
  if (!httpUrl(url)) return NO_BASE_MAP;
  if (url.includes('{z}') && url.includes('{x}') && url.includes('{y}')) return { kind: 'raster', tiles: url, attribution };
  if (new URL(url).pathname.endsWith('.json')) return { kind: 'style', url, attribution };
  return NO_BASE_MAP;
}
