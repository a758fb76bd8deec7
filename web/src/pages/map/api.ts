// The map page's API calls.
import { getJson } from '../../api';
import type {
  AlertsResponse,
  DashboardConfigResponse,
  ForecastLayerResponse,
  HistoryLayerResponse,
} from '../../map/layerTypes';

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

export function fetchAlerts(signal?: AbortSignal): Promise<AlertsResponse> {
  return getJson<AlertsResponse>(`/api/alerts?limit=${ALERT_FETCH_LIMIT}`, signal);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
