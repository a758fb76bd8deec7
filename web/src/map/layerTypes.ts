// Shapes of the map's layer endpoints (src/trafficcast/api/traffic_layers_models.py);
// alerts are the shared AlertRecord (../types).
import type { WindowFill } from '../types';

export interface ForecastLayerRow {
  segment_id: string;
  issued_at: string;
  target_time: string;
  predicted_speed: number | null;
  speed_lower: number | null;
  speed_upper: number | null;
  confidence: number | null;
  model_version: string;
  input_fill?: WindowFill | null;
}

export interface ForecastLayerResponse {
  horizon_minutes: number;
  segments: ForecastLayerRow[];
}

export interface HistoryLayerRow {
  segment_id: string;
  mean_speed: number | null;
  volume: number | null;
  occupancy: number | null;
  level_of_service: string | null;
  fill?: WindowFill;
}

export interface HistoryLayerResponse {
  at: string | null;
  window_start: string | null;
  window_end: string | null;
  earliest: string | null;
  latest: string | null;
  segments: HistoryLayerRow[];
}

export interface DashboardConfigResponse {
  map: { tiles_url: string | null; attribution: string | null };
}
