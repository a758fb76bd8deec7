// The overview's API calls and the shapes it reads (see docs/PRODUCT.md §5).
import { ApiError, errorFromResponse, getJson } from '../../api';

export interface AlertRow {
  alert_id: string;
  alert_type: string;
  severity: string;
  segment_id: string | null;
  state: string;
  opened_at: string;
  resolved_at: string | null;
  message: string | null;
}

export interface AlertListResponse {
  alerts: AlertRow[];
}

export interface HorizonAccuracy {
  horizon_minutes: number;
  n: number;
  speed_mae: number | null;
  speed_rmse: number | null;
  speed_mape: number | null;
  speed_coverage: number | null;
  recent_mae: number | null;
  trend: number | null;
}

export interface AccuracyResponse {
  start_time: string;
  end_time: string;
  bucket_minutes: number;
  by_horizon: HorizonAccuracy[];
}

export interface HealthCheck {
  status: string;
  [detail: string]: unknown;
}

export interface HealthResponse {
  status: string;
  timestamp: string;
  version: string;
  checks: Record<string, HealthCheck>;
}

export interface ThroughputPoint {
  time: string;
  events_per_second: number;
}

export interface SystemStats {
  timestamp: string;
  role: string;
  uptime_seconds: number;
  events_per_second: number;
  events_total: number;
  late_events_total: number | null;
  windows_total: number | null;
  predictions_total: number | null;
  alerts_open: number;
  websocket_clients: number;
  history: ThroughputPoint[];
}

export interface SummaryTotals {
  total_events: number;
  avg_speed: number | null;
  avg_volume: number | null;
  congestion_hours: number;
  incident_count: number;
}

export interface SegmentSummary {
  segment_id: string;
  avg_speed: number | null;
  avg_volume: number | null;
  total_events: number;
  congestion_hours: number;
  traffic_score: number | null;
  incidents: number;
}

export interface AnalyticsSummary {
  summary: SummaryTotals;
  by_segment: SegmentSummary[];
  start_date: string | null;
  end_date: string | null;
}

/** The most alerts one list request asks for (the API's own limit). */
export const ALERT_LIMIT = 10_000;

export function fetchAlerts(state: 'open' | 'acknowledged', signal?: AbortSignal): Promise<AlertListResponse> {
  const query = new URLSearchParams({ state, limit: String(ALERT_LIMIT) });
  return getJson<AlertListResponse>(`/api/alerts?${query}`, signal);
}

export function fetchAccuracy(signal?: AbortSignal): Promise<AccuracyResponse> {
  return getJson<AccuracyResponse>('/api/predictions/accuracy', signal);
}

export function fetchSystemStats(signal?: AbortSignal): Promise<SystemStats> {
  return getJson<SystemStats>('/api/system/stats', signal);
}

export function fetchSummary(startIso: string, endIso: string, signal?: AbortSignal): Promise<AnalyticsSummary> {
  // Totals only: the per-segment rows would be 10 000 rows per call on a large network.
  const query = new URLSearchParams({ start_date: startIso, end_date: endIso, by_segment: 'false' });
  return getJson<AnalyticsSummary>(`/api/analytics/summary?${query}`, signal);
}

/** /health answers 503 with the same body when a component is down: that is data, not a failure. */
export async function fetchHealth(signal?: AbortSignal): Promise<HealthResponse> {
  const response = await fetch('/health', { headers: { Accept: 'application/json' }, signal });
  if (response.ok || response.status === 503) {
    try {
      return (await response.json()) as HealthResponse;
    } catch {
      throw new ApiError(response.status, 'http_error', `/health answered ${response.status} without a body`);
    }
  }
  throw await errorFromResponse(response);
}
