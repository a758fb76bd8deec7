// The analytics page's API calls and the shapes it reads (docs/PRODUCT.md §5).
import { ApiError, errorFromResponse, getJson } from '../../api';

export type Period = 'day' | 'week' | 'month';

export interface TrendBucket {
  start: string;
  end: string;
  total_events: number;
  avg_speed: number | null;
  avg_volume: number | null;
  congestion_hours: number;
  incident_count: number;
}

export interface TrendResponse {
  period: Period;
  start_date: string;
  end_date: string;
  buckets: TrendBucket[];
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

export interface SummaryResponse {
  summary: {
    total_events: number;
    avg_speed: number | null;
    avg_volume: number | null;
    congestion_hours: number;
    incident_count: number;
  };
  by_segment: SegmentSummary[];
  start_date: string | null;
  end_date: string | null;
}

export interface AccuracyBucket {
  bucket_start: string;
  model_version: string;
  horizon_minutes: number;
  n: number;
  speed_mae: number | null;
  speed_rmse: number | null;
  speed_mape: number | null;
  speed_bias: number | null;
  speed_coverage: number | null;
  volume_mae: number | null;
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
  buckets: AccuracyBucket[];
  by_horizon: HorizonAccuracy[];
}

export interface ThroughputPoint {
  time: string;
  events_per_second: number;
}

export interface SystemStats {
  timestamp: string;
  role?: string;
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

/** The trend's query: no dates means the API's default range ending at the newest data. */
export function trendQuery(period: Period, start: string | null, end: string | null): string {
  const query = new URLSearchParams({ period });
  if (start) query.set('start_date', start);
  if (end) query.set('end_date', end);
  return `/api/analytics/trend?${query}`;
}

export function summaryQuery(start: string, end: string): string {
  return `/api/analytics/summary?${new URLSearchParams({ start_date: start, end_date: end })}`;
}

export function accuracyQuery(start: string, end: string, bucketMinutes: number): string {
  const query = new URLSearchParams({ start_time: start, end_time: end, bucket_minutes: String(bucketMinutes) });
  return `/api/predictions/accuracy?${query}`;
}

export function fetchJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return getJson<T>(path, signal);
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
