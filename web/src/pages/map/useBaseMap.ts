// The configured base map, resolved before the map is built (a PMTiles one needs
// its decoder registered first). Without a configuration, or if it cannot be
// read, the map draws on its plain background.
import { useEffect, useState } from 'react';
import { baseMapOf, NO_BASE_MAP, type BaseMap } from '../../map/baseMap';
import { ensurePmtilesProtocol } from '../../map/pmtiles';
import { isAbort } from '../../api';
import { fetchDashboardConfig } from './api';

export function useBaseMap(): BaseMap | null {
  const [base, setBase] = useState<BaseMap | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    fetchDashboardConfig(controller.signal)
      .then(async (config) => {
        const resolved = baseMapOf(config.map);
        if (resolved.kind === 'pmtiles') await ensurePmtilesProtocol();
        return resolved;
      })
      .then(setBase, (error: unknown) => {
        if (!isAbort(error)) setBase(NO_BASE_MAP);
      });
    return () => controller.abort();
  }, []);
  return base;
}
