// The overview's API calls, built on the shared fetchers (../../api).
import { fetchAccuracy, fetchAlerts, fetchAnalyticsSummary } from '../../api';
import type { AccuracyResponse, AlertListResponse, AnalyticsSummary } from '../../types';

/** The most alerts one list request asks for (the API's own limit). */
export const ALERT_LIMIT = 10_000;

export function fetchAlertsIn(state: 'open' | 'acknowledged', signal?: AbortSignal): Promise<AlertListResponse> {
  return fetchAlerts({ state, limit: String(ALERT_LIMIT) }, signal);
}

/** The whole network's accuracy over the API's default range. */
export function fetchNetworkAccuracy(signal?: AbortSignal): Promise<AccuracyResponse> {
  return fetchAccuracy('', signal);
}

export function fetchSummary(startIso: string, endIso: string, signal?: AbortSignal): Promise<AnalyticsSummary> {
  // Totals only: the per-segment rows would be 10 000 rows per call on a large network.
  return fetchAnalyticsSummary({ start_date: startIso, end_date: endIso, by_segment: 'false' }, signal);
}
