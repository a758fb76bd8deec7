// The map page's API calls (alerts come from the shared fetchAlerts in ../../api).
import { getJson } from '../../api';
import type { DashboardConfigResponse, ForecastLayerResponse, HistoryLayerResponse } from '../../map/layerTypes';

export function fetchForecastLayer(horizonMinutes: number, signal?: AbortSignal): Promise<ForecastLayerResponse> {
  const query = new URLSearchParams({ horizon_minutes: String(horizonMinutes) });
  return getJson<ForecastLayerResponse>(`/api/traffic/forecast?${query}`, signal);
}

/** Without `atMs`, the newest stored window (and the bounds of the time control). */
export function fetchHistoryLayer(atMs: number | null, signal?: AbortSignal): Promise<HistoryLayerResponse> {
  const query = atMs === null ? '' : `?${new URLSearchParams({ at: new Date(atMs).toISOString() })}`;
  return getJson<HistoryLayerResponse>(`/api/traffic/history${query}`, signal);
}

export function fetchDashboardConfig(signal?: AbortSignal): Promise<DashboardConfigResponse> {
  return getJson<DashboardConfigResponse>('/api/dashboard/config', signal);
}

/** Enough of the newest alerts to hold every active one on a large network. */
export const ALERT_FETCH_LIMIT = 2000;
