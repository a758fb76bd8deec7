// The analytics page's own shapes and the paths it loads (shared shapes: ../../types).

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
