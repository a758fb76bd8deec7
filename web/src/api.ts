// Thin typed wrappers over the trafficcast HTTP API (same origin, under /api),
// and the error handling every page shares.
import type {
  AccuracyResponse,
  AlertListResponse,
  AnalyticsSummary,
  ApiErrorBody,
  CurrentTrafficResponse,
  HealthResponse,
  HistoryResponse,
  PredictionsResponse,
  SegmentsResponse,
  SystemStats,
} from './types';

/** One field's problem, as the error envelope's `details` list it (422s name each field). */
export interface FieldProblem {
  field: string;
  reason: string;
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

/** A failed request: the server's error envelope (code, message, details) or the status line. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    /** The envelope's `details`, as sent. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The per-field problems among the details (empty when there are none). */
  get fields(): FieldProblem[] {
    return fieldProblems(this.details);
  }
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

/** Turns a non-2xx response into an ApiError carrying the server's code, message and details. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Proxies and crashes answer with HTML or nothing: fall back to the status line.
  }
  if (isApiErrorBody(body)) {
    const { code, message, details } = body.error;
    const requestId = typeof body.request_id === 'string' ? body.request_id : undefined;
    return new ApiError(response.status, typeof code === 'string' ? code : 'http_error', message, requestId, details);
  }
  return new ApiError(response.status, 'http_error', `${response.status} ${response.statusText}`.trim());
}

/** The message to show for any failure (the envelope's message when there is one). */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True for the rejection of a request its AbortSignal cancelled. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** A query string's parameters; entries that are null or undefined are left out. */
export type Query = string | URLSearchParams | Readonly<Record<string, string | null | undefined>>;

/** `path`, with `?query` when the query has anything in it. */
export function withQuery(path: string, query: Query = ''): string {
  let params: URLSearchParams;
  if (typeof query === 'string' || query instanceof URLSearchParams) params = new URLSearchParams(query);
  else {
    params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value != null) params.set(key, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** How a request reaches the server; the auth module swaps in one that signs it. */
export type Transport = (path: string, init: RequestInit) => Promise<Response>;

const plainTransport: Transport = (path, init) => fetch(path, init);
let transport: Transport = plainTransport;

/**
 * Installs the transport every helper here sends through (null = plain fetch).
 * The auth module adds the bearer token and refreshes it; keeping the hook here
 * lets this module stay free of session state.
 */
export function setTransport(next: Transport | null): void {
  transport = next ?? plainTransport;
}

/** A request to the API through the installed transport (signed in when there is a session). */
export function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return transport(path, init);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await apiFetch(path, { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as T;
}

/** A JSON request (no body when `body` is undefined); errors as ApiError; a 204 gives undefined. */
export async function sendJson<T>(
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const response = await apiFetch(path, {
    method,
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function fetchSegments(signal?: AbortSignal): Promise<SegmentsResponse> {
  return getJson<SegmentsResponse>('/api/segments', signal);
}

export function fetchCurrentTraffic(signal?: AbortSignal): Promise<CurrentTrafficResponse> {
  return getJson<CurrentTrafficResponse>('/api/traffic/current', signal);
}

/** 288 five-minute windows = the last 24 h; the chart shows the recent part of it. */
export function fetchHistory(
  segmentId: string,
  options: { windowMinutes?: number; limit?: number; signal?: AbortSignal } = {},
): Promise<HistoryResponse> {
  const query = new URLSearchParams({
    window_minutes: String(options.windowMinutes ?? 5),
    limit: String(options.limit ?? 288),
  });
  return getJson<HistoryResponse>(
    `/api/segments/${encodeURIComponent(segmentId)}/history?${query}`,
    options.signal,
  );
}

export function fetchLatestPredictions(segmentId: string, signal?: AbortSignal): Promise<PredictionsResponse> {
  const query = new URLSearchParams({ segment_id: segmentId });
  return getJson<PredictionsResponse>(`/api/predictions/latest?${query}`, signal);
}

/** Alerts newest first; the query filters them (state, severity, segment_id, limit, …). */
export function fetchAlerts(query: Query = '', signal?: AbortSignal): Promise<AlertListResponse> {
  return getJson<AlertListResponse>(withQuery('/api/alerts', query), signal);
}

/** Live forecast accuracy; the query narrows it (bucket_minutes, model_version, segment_id, …). */
export function fetchAccuracy(query: Query = '', signal?: AbortSignal): Promise<AccuracyResponse> {
  return getJson<AccuracyResponse>(withQuery('/api/predictions/accuracy', query), signal);
}

/** Traffic totals (and per segment) over a range: start_date, end_date, segment_ids, by_segment. */
export function fetchAnalyticsSummary(query: Query, signal?: AbortSignal): Promise<AnalyticsSummary> {
  return getJson<AnalyticsSummary>(withQuery('/api/analytics/summary', query), signal);
}

export function fetchSystemStats(signal?: AbortSignal): Promise<SystemStats> {
  return getJson<SystemStats>('/api/system/stats', signal);
}

/** /health answers 503 with the same body when a component is down: that is data, not a failure. */
export async function fetchHealth(signal?: AbortSignal): Promise<HealthResponse> {
  const response = await apiFetch('/health', { headers: { Accept: 'application/json' }, signal });
  if (response.ok || response.status === 503) {
    try {
      return (await response.json()) as HealthResponse;
    } catch {
      throw new ApiError(response.status, 'http_error', `/health answered ${response.status} without a body`);
    }
  }
  throw await errorFromResponse(response);
}
