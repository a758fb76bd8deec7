// The predictions page's API calls and the shapes it reads: the model registry,
// training jobs, live accuracy, on-demand forecasts and the forecast settings.
import { ApiError, getJson } from '../../api';

/** One field's problem, as the error envelope's details list it. */
export interface FieldProblem {
  field: string;
  reason: string;
}

/** An ApiError that keeps the envelope's details (which field, and why). */
export class RequestError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly problems: FieldProblem[],
    requestId?: string,
  ) {
    super(status, code, message, requestId);
    this.name = 'RequestError';
  }
}

/** The field problems of an envelope's `details`, ignoring anything of another shape. */
export function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  const out: FieldProblem[] = [];
  for (const item of details) {
    if (typeof item !== 'object' || item === null) continue;
    const { field, reason } = item as Record<string, unknown>;
    if (typeof field === 'string' && typeof reason === 'string') out.push({ field, reason });
  }
  return out;
}

async function requestError(response: Response): Promise<RequestError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page, a crash): the status line is all there is.
  }
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : null;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    const e = error as { code?: unknown; message: string; details?: unknown };
    const requestId = (body as { request_id?: unknown }).request_id;
    return new RequestError(
      response.status,
      typeof e.code === 'string' ? e.code : 'error',
      e.message,
      fieldProblems(e.details),
      typeof requestId === 'string' ? requestId : undefined,
    );
  }
  return new RequestError(response.status, 'http_error', `${response.status} ${response.statusText}`.trim(), []);
}

async function sendJson<T>(method: 'POST' | 'PUT', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await requestError(response);
  return (await response.json()) as T;
}

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

// live accuracy ----------------------------------------------------------------------

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

export function fetchAccuracy(signal?: AbortSignal, modelVersion?: string): Promise<AccuracyResponse> {
  const query = new URLSearchParams({ bucket_minutes: '60' });
  if (modelVersion) query.set('model_version', modelVersion);
  return getJson<AccuracyResponse>(`/api/predictions/accuracy?${query}`, signal);
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

/** The message to show for any failure (the envelope's message when there is one). */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
