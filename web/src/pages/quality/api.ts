// GET /api/quality/detectors: each detector's health over one local day of the network.
import { getJson, withQuery } from '../../api';

export const REASONS = ['no_data', 'insufficient_data', 'stuck', 'implausible', 'intermittent'] as const;
export type Reason = (typeof REASONS)[number];
export type Status = 'good' | 'bad';

export interface DetectorDay {
  segment_id: string;
  name: string | null;
  status: Status;
  /** "ok" when good, else the first problem found (in REASONS order). */
  reason: Reason | 'ok';
  samples: number;
  expected: number;
  /** samples / expected, at most 1. */
  share: number;
}

export interface HealthRules {
  expected_interval_s: number;
  min_share: number;
  max_implausible_share: number;
  max_plausible_mph: number;
  max_gap_minutes: number;
}

export interface DetectorHealthReport {
  /** The network's local day, "YYYY-MM-DD". */
  date: string;
  timezone: string;
  start: string;
  /** The day's end, or now for today. */
  end: string;
  rules: HealthRules;
  good: number;
  bad: number;
  by_reason: Record<string, number>;
  detectors: DetectorDay[];
}

/** The report's path: the network's today when `date` is null. */
export function healthPath(date: string | null): string {
  return withQuery('/api/quality/detectors', { date });
}

export function fetchDetectorHealth(path: string, signal: AbortSignal): Promise<DetectorHealthReport> {
  return getJson<DetectorHealthReport>(path, signal);
}

/** GET /api/quality/days: the days that can be asked about, and those with data. */
export interface QualityDays {
  timezone: string;
  /** The network's local today: the latest day that can be asked. */
  today: string;
  earliest: string;
  /** Local days of the first and the last stored 5-minute window; null without data. */
  first_day: string | null;
  last_day: string | null;
}

export function fetchQualityDays(signal: AbortSignal): Promise<QualityDays> {
  return getJson<QualityDays>('/api/quality/days', signal);
}
