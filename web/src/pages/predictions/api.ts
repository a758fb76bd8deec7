// The predictions page's API calls and the shapes it reads: the model registry,
// training jobs, on-demand forecasts and the forecast settings (live accuracy
// uses the shared fetchAccuracy of ../../api).
import { getJson, sendJson } from '../../api';

// models -----------------------------------------------------------------------------

/** metric -> horizon minutes (as text) -> value, as model.json records them. */
export type Scores = Partial<Record<'mae' | 'rmse' | 'coverage', Record<string, number>>>;

/** Held-out scores: the chosen model's, and both baselines' for comparison. */
export type TestScores = Scores & { baselines?: Record<string, Scores> };

export interface TrainingWindow {
  start: string;
  end: string;
  steps: number;
  segments: number;
}

export interface ModelSummary {
  version: string;
  kind: string;
  created_at: string;
  promoted: boolean;
  live: boolean;
  training_window: TrainingWindow | null;
  horizons_minutes: number[];
  validation: Record<string, Scores> | null;
  test: Record<string, TestScores> | null;
}

export interface ModelList {
  models: ModelSummary[];
  live_model_version: string;
}

export interface ModelDetail extends ModelSummary {
  metadata: Record<string, unknown>;
}

export function fetchModels(signal?: AbortSignal): Promise<ModelList> {
  return getJson<ModelList>('/api/models', signal);
}

export function fetchModel(version: string, signal?: AbortSignal): Promise<ModelDetail> {
  return getJson<ModelDetail>(`/api/models/${encodeURIComponent(version)}`, signal);
}

export function promoteModel(version: string): Promise<ModelList> {
  return sendJson<ModelList>('POST', `/api/models/${encodeURIComponent(version)}/promote`);
}

export function rollbackModel(): Promise<ModelList> {
  return sendJson<ModelList>('POST', '/api/models/rollback');
}

// training jobs ----------------------------------------------------------------------

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface TrainingJob {
  job_id: string;
  state: JobState;
  stage: string;
  progress: number;
  days: number;
  source: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  version: string | null;
  promoted: boolean;
  error: string | null;
}

export function startTraining(days: number): Promise<{ job: TrainingJob }> {
  return sendJson<{ job: TrainingJob }>('POST', '/api/models/train', { days });
}

export function fetchJob(jobId: string, signal?: AbortSignal): Promise<TrainingJob> {
  return getJson<TrainingJob>(`/api/models/jobs/${encodeURIComponent(jobId)}`, signal);
}

export function fetchJobs(signal?: AbortSignal): Promise<{ jobs: TrainingJob[] }> {
  return getJson<{ jobs: TrainingJob[] }>('/api/models/jobs', signal);
}

// on-demand forecast -----------------------------------------------------------------

export interface ForecastPoint {
  timestamp: string;
  horizon_minutes: number;
  predicted_speed: number | null;
  predicted_volume: number | null;
  confidence?: number | null;
  speed_lower?: number | null;
  speed_upper?: number | null;
  volume_lower?: number | null;
  volume_upper?: number | null;
}

export interface GeneratedForecast {
  prediction_id: string;
  segment_id: string;
  horizon_minutes: number;
  predictions: ForecastPoint[];
  model_version: string;
  generated_at: string;
  issued_at?: string;
}

export function generateForecast(
  request: { segment_id: string; horizon_minutes: number; model_version: string },
  signal?: AbortSignal,
): Promise<GeneratedForecast> {
  return sendJson<GeneratedForecast>('POST', '/api/predictions/generate', { ...request, include_confidence: true }, signal);
}

// forecast settings ------------------------------------------------------------------

export interface ForecastSettings {
  horizons_min: number[];
  refresh_minutes: number;
  available_horizons_min: number[];
  refresh_choices_minutes: number[];
  default_horizons_min: number[];
  default_refresh_minutes: number;
}

export function fetchForecastSettings(signal?: AbortSignal): Promise<ForecastSettings> {
  return getJson<ForecastSettings>('/api/settings/forecast', signal);
}

export function saveForecastSettings(settings: { horizons_min: number[]; refresh_minutes: number }): Promise<ForecastSettings> {
  return sendJson<ForecastSettings>('PUT', '/api/settings/forecast', settings);
}
