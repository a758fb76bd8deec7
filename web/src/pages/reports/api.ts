// GET /api/reports/performance (analysts): the JSON this page summarises, and the
// CSV / PDF it downloads. Types name only the fields the page reads; the report
// may carry more sections (the page ignores what it does not know).
import { getJson, withQuery } from '../../api';

export type Period = 'day' | 'week' | 'month';
export type ReportFormat = 'json' | 'csv' | 'pdf';

export interface Measures {
  windows: number;
  vmt: number;
  vht: number;
  /** Vehicle-hours of delay by reference speed in mph ("35", "60"). */
  delay_vehicle_hours: Record<string, number>;
  travel_time_index: number | null;
  mean_speed: number | null;
  congestion_hours: number;
  los_hours: Record<string, number>;
}

export interface PeriodMeasures extends Measures {
  start: string;
  end: string;
}

export interface SegmentMeasures extends Measures {
  rank: number;
  segment_id: string;
  name: string | null;
  level_of_service: string | null;
}

export interface Bottleneck {
  upstream_segment_id: string;
  segment_id: string;
  active_days: number;
  active_hours: number;
  mean_drop_mph: number;
}

export interface PerformanceReport {
  start: string;
  end: string;
  period: Period;
  timezone: string;
  reference_speeds: number[];
  congestion_mph: number;
  totals: Measures;
  periods: PeriodMeasures[];
  segments: SegmentMeasures[];
  bottlenecks: Bottleneck[];
}

/** The report's path for [start, end) (dates "YYYY-MM-DD", UTC), one period length and format. */
export function reportPath(range: { start: string; end: string }, period: Period, format: ReportFormat): string {
  return withQuery('/api/reports/performance', {
    start: range.start,
    end: range.end,
    period,
    format: format === 'json' ? null : format,
  });
}

export function fetchReport(path: string, signal: AbortSignal): Promise<PerformanceReport> {
  return getJson<PerformanceReport>(path, signal);
}
