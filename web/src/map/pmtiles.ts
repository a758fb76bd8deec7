// PMTiles base maps (pmtiles://https://…): the decoder is loaded only when one
// is configured, and registered with MapLibre once.
import { addProtocol } from 'maplibre-gl';

let registered: Promise<void> | null = null;

export function ensurePmtilesProtocol(): Promise<void> {
  registered ??= import('pmtiles').then(({ Protocol }) => {
    addProtocol('pmtiles', new Protocol().tile);
  });
  return registered;
}
