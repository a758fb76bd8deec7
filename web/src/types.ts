// Shapes of the trafficcast HTTP and WebSocket API (see docs/PRODUCT.md).
// Timestamps are ISO 8601 UTC strings, e.g. "2012-03-01T08:05:00Z".

/** [longitude, latitude] as in GeoJSON. */
export type LngLat = [number, number];

export interface Segment {
  segment_id: string;
  name: string;
  road: string;
  direction: string;
  latitude: number;
  longitude: number;
  free_flow_speed: number | null;
  length_miles: number | null;
  lanes: number | null;
  geometry: LngLat[] | null;
}

export interface SegmentsResponse {
  segments: Segment[];
  total: number;
}

/** One raw reading: the body of `traffic_event` and of /api/traffic/current rows. */
export interface Reading {
  timestamp: string;
  speed: number | null;
  volume: number | null;
  occupancy: number | null;
  level_of_service: string | null;
}

export interface CurrentTrafficRow extends Reading {
  segment_id: string;
}

export interface CurrentTrafficResponse {
  segments: CurrentTrafficRow[];
}

/**
 * How a window's values came about (docs/decisions/0018): measured, imputed from the
 * neighbours or the usual profile while the detector was silent, or missing (null values).
 */
export type WindowFill = 'observed' | 'imputed_neighbours' | 'imputed_profile' | 'missing';

/** An aggregated window (history rows and `window` messages). */
export interface TrafficWindow {
  window_start: string;
  window_end: string;
  mean_speed: number | null;
  harmonic_mean_speed: number | null;
  volume: number | null;
  occupancy: number | null;
  count: number;
  level_of_service: string | null;
  /** Always sent by current servers; absent (treated as observed) from older ones and test fixtures. */
  fill?: WindowFill;
  /** Present on `window` messages; the history response carries it at the top level. */
  window_minutes?: number;
}

export interface HistoryResponse {
  segment_id: string;
  window_minutes: number;
  windows: TrafficWindow[];
}

export interface Prediction {
  prediction_id: string;
  segment_id: string;
  issued_at: string;
  horizon_minutes: number;
  target_time: string;
  predicted_speed: number;
  speed_lower: number | null;
  speed_upper: number | null;
  predicted_volume: number | null;
  volume_lower: number | null;
  volume_upper: number | null;
  confidence: number | null;
  model_version: string;
  /** Fill of the window the forecast was issued from; null for older and on-demand forecasts. */
  input_fill?: WindowFill | null;
}

export interface PredictionsResponse {
  predictions: Prediction[];
}

export interface PredictionBatch {
  issued_at: string;
  model_version: string;
  forecasts: Prediction[];
}

// ---- alerts (/api/alerts) --------------------------------------------------------

export type AlertState = 'open' | 'acknowledged' | 'resolved';

/** One stored alert, as the list, the actions and live `alert` messages carry it. */
export interface AlertRecord {
  alert_id: string;
  alert_type: string;
  severity: string;
  segment_id: string | null;
  state: AlertState | string;
  opened_at: string;
  resolved_at: string | null;
  message: string | null;
  acknowledged_at: string | null;
  /** Null until users and login exist. */
  acknowledged_by: string | null;
  note: string | null;
  updated_at: string;
}

export interface AlertListResponse {
  alerts: AlertRecord[];
}

// ---- forecast accuracy (/api/predictions/accuracy) -------------------------------

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

// ---- health and system stats (/health, /api/system/stats) ------------------------

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
  /** "all", "api" or "processor": pipeline counters are null on an API-only process. */
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

// ---- analytics summary (/api/analytics/summary) ----------------------------------

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

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
  request_id?: string;
}

/** Messages the server pushes on /ws/traffic. */
export type ServerMessage =
  | { type: 'subscribed'; segment_ids: string[] }
  | { type: 'traffic_event'; segment_id: string; data: Reading }
  | { type: 'window'; segment_id: string; data: TrafficWindow }
  | { type: 'prediction'; segment_id: string; data: PredictionBatch }
  | { type: 'alert'; segment_id: string; data: Record<string, unknown> }
  | { type: 'error'; error: { code: string; message: string } };

export type ClientMessage = {
  action: 'subscribe' | 'unsubscribe';
  segment_ids: string[];
  /** "batch": the server sends JSON arrays of messages, one frame per delivery. */
  format?: 'batch' | 'single';
};
