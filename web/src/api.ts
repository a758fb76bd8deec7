// Thin typed wrappers over the trafficcast HTTP API (same origin, under /api).
import type {
  ApiErrorBody,
  CurrentTrafficResponse,
  HistoryResponse,
  PredictionsResponse,
  SegmentsResponse,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null && 'message' in error;
}

/** Turns a non-2xx response into an ApiError carrying the server's code and message. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Proxies and crashes answer with HTML or nothing: fall back to the status line.
  }
  if (isApiErrorBody(body)) {
    return new ApiError(response.status, body.error.code, body.error.message, body.request_id);
  }
  return new ApiError(response.status, 'http_error', `${response.status} ${response.statusText}`.trim());
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await errorFromResponse(response);
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
