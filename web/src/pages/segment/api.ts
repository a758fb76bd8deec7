// The segment page's API calls and the shapes only it reads; history and the
// latest forecast come from the shared fetchers (../../api).
import { fetchAccuracy, fetchAlerts, fetchAnalyticsSummary, getJson } from '../../api';
import type { AccuracyResponse, AlertListResponse, AnalyticsSummary, Segment, WindowFill } from '../../types';

export interface SegmentDetailResponse extends Segment {
  upstream: string[];
  downstream: string[];
}

/** A stored forecast of one horizon (GET /api/segments/{id}/forecasts). */
export interface PastForecast {
  issued_at: string;
  target_time: string;
  predicted_speed: number | null;
  speed_lower: number | null;
  speed_upper: number | null;
  predicted_volume: number | null;
  volume_lower: number | null;
  volume_upper: number | null;
  model_version: string;
  /** Fill of the window the forecast was issued from; null when not recorded. */
  input_fill?: WindowFill | null;
}

export interface PastForecastsResponse {
  segment_id: string;
  horizon_minutes: number;
  start_time: string;
  end_time: string;
  forecasts: PastForecast[];
}

const path = (segmentId: string) => `/api/segments/${encodeURIComponent(segmentId)}`;

export function fetchSegmentDetail(segmentId: string, signal?: AbortSignal): Promise<SegmentDetailResponse> {
  return getJson<SegmentDetailResponse>(path(segmentId), signal);
}

export function fetchPastForecasts(
  segmentId: string,
  horizonMinutes: number,
  startMs: number,
  endMs: number,
  signal?: AbortSignal,
): Promise<PastForecastsResponse> {
  const query = new URLSearchParams({
    horizon_minutes: String(horizonMinutes),
    start_time: new Date(startMs).toISOString(),
    end_time: new Date(endMs).toISOString(),
  });
  return getJson<PastForecastsResponse>(`${path(segmentId)}/forecasts?${query}`, signal);
}

/** Alerts newest first; `segment_id` narrows them on servers that support it (filtered here too). */
export function fetchSegmentAlerts(segmentId: string, limit: number, signal?: AbortSignal): Promise<AlertListResponse> {
  return fetchAlerts({ segment_id: segmentId, limit: String(limit) }, signal);
}

export function fetchSegmentSummary(
  segmentId: string,
  startMs: number,
  endMs: number,
  signal?: AbortSignal,
): Promise<AnalyticsSummary> {
  const query = {
    segment_ids: segmentId,
    start_date: new Date(startMs).toISOString(),
    end_date: new Date(endMs).toISOString(),
  };
  return fetchAnalyticsSummary(query, signal);
}

export function fetchSegmentAccuracy(segmentId: string, signal?: AbortSignal): Promise<AccuracyResponse> {
  return fetchAccuracy({ segment_id: segmentId }, signal);
}
