// Pure figures of the overview: the network now, active alerts, accuracy rows,
// the health list and the trend buckets. No I/O here; OverviewPage wires it up.
import { speedBand, type BandThresholds } from '../../bands';
import type { Reading } from '../../types';
import type { AlertRecord, AnalyticsSummary, HealthCheck, HorizonAccuracy } from '../../types';

export interface NetworkNow {
  /** Segments of the road network. */
  segments: number;
  /** Of those, with a usable latest speed. */
  withSpeed: number;
  meanSpeedMph: number | null;
  withVolume: number;
  /** Sum of the latest reading volumes (vehicles per reading interval). */
  totalVolume: number | null;
  /** Latest speed below the slow band limit. */
  congested: number;
  /** Newest reading time (epoch ms): the data clock, which a replay sets, not the wall clock. */
  latestMs: number | null;
}

/**
 * Means over segments that have data: a segment without a reading (or with a
 * broken one) is left out, not counted as 0 mph.
 */
export function networkNow(
  segmentIds: readonly string[],
  readings: ReadonlyMap<string, Reading>,
  limits: BandThresholds,
): NetworkNow {
  let withSpeed = 0;
  let speedSum = 0;
  let withVolume = 0;
  let volumeSum = 0;
  let congested = 0;
  let latestMs = -Infinity;
  for (const id of segmentIds) {
    const reading = readings.get(id);
    if (!reading) continue;
    const t = Date.parse(reading.timestamp);
    if (t > latestMs) latestMs = t;
    const band = speedBand(reading.speed, limits);
    if (band !== 'nodata') {
      withSpeed += 1;
      speedSum += reading.speed as number;
      if (band === 'slow') congested += 1;
    }
    const volume = reading.volume;
    if (volume != null && Number.isFinite(volume) && volume >= 0) {
      withVolume += 1;
      volumeSum += volume;
    }
  }
  return {
    segments: segmentIds.length,
    withSpeed,
    meanSpeedMph: withSpeed > 0 ? speedSum / withSpeed : null,
    withVolume,
    totalVolume: withVolume > 0 ? volumeSum : null,
    congested,
    latestMs: Number.isFinite(latestMs) ? latestMs : null,
  };
}

// alerts ---------------------------------------------------------------------------

export type ActiveAlerts = ReadonlyMap<string, { severity: string; state: string }>;

export function isActive(state: string): boolean {
  return state === 'open' || state === 'acknowledged';
}

export function activeAlerts(rows: readonly AlertRecord[]): ActiveAlerts {
  const map = new Map<string, { severity: string; state: string }>();
  for (const row of rows) {
    if (isActive(row.state)) map.set(row.alert_id, { severity: row.severity, state: row.state });
  }
  return map;
}

/** An alert as pushed live: added, moved to another state, or dropped once resolved. */
export function applyAlert(alerts: ActiveAlerts, row: AlertRecord): ActiveAlerts {
  const existing = alerts.get(row.alert_id);
  if (!isActive(row.state)) {
    if (!existing) return alerts;
    const next = new Map(alerts);
    next.delete(row.alert_id);
    return next;
  }
  if (existing && existing.state === row.state && existing.severity === row.severity) return alerts;
  const next = new Map(alerts);
  next.set(row.alert_id, { severity: row.severity, state: row.state });
  return next;
}

/** Most severe first; severities the dashboard does not know follow, alphabetically. */
export const SEVERITY_ORDER: readonly string[] = ['critical', 'major', 'minor', 'warning', 'info'];

export interface SeverityCount {
  severity: string;
  open: number;
  acknowledged: number;
  total: number;
}

export function countBySeverity(alerts: ActiveAlerts): SeverityCount[] {
  const counts = new Map<string, SeverityCount>();
  for (const { severity, state } of alerts.values()) {
    let c = counts.get(severity);
    if (!c) {
      c = { severity, open: 0, acknowledged: 0, total: 0 };
      counts.set(severity, c);
    }
    if (state === 'open') c.open += 1;
    else c.acknowledged += 1;
    c.total += 1;
  }
  const rank = (s: string) => {
    const i = SEVERITY_ORDER.indexOf(s);
    return i === -1 ? SEVERITY_ORDER.length : i;
  };
  return [...counts.values()].sort((a, b) => rank(a.severity) - rank(b.severity) || a.severity.localeCompare(b.severity));
}

/** Parses a pushed alert's data, which the server sends as a stored alert row. */
export function alertFromMessage(data: Record<string, unknown>): AlertRecord | null {
  const { alert_id: id, severity, state } = data;
  if (typeof id !== 'string' || typeof severity !== 'string' || typeof state !== 'string') return null;
  return data as unknown as AlertRecord;
}

// accuracy -------------------------------------------------------------------------

export const MAIN_HORIZONS: readonly number[] = [15, 30, 45, 60];

/** The product's headline horizons when the server scores them, else every horizon it has. */
export function mainHorizons(rows: readonly HorizonAccuracy[]): HorizonAccuracy[] {
  const sorted = [...rows].sort((a, b) => a.horizon_minutes - b.horizon_minutes);
  const main = sorted.filter((r) => MAIN_HORIZONS.includes(r.horizon_minutes));
  return main.length > 0 ? main : sorted;
}

// health ---------------------------------------------------------------------------

export type Tone = 'ok' | 'warn' | 'bad' | 'unknown';

export function statusTone(status: string | undefined): Tone {
  switch (status) {
    case 'healthy':
      return 'ok';
    case 'degraded':
      return 'warn';
    case 'unhealthy':
      return 'bad';
    default:
      return 'unknown';
  }
}

export interface Component {
  key: string;
  label: string;
  status: string;
  tone: Tone;
  /** A short reason shown next to a component that is not healthy. */
  detail: string | null;
}

function labelOf(key: string): string {
  if (key.startsWith('feed:')) return `feed: ${key.slice(5)}`;
  return key.replaceAll('_', ' ');
}

export function healthComponents(checks: Readonly<Record<string, HealthCheck>>): Component[] {
  return Object.entries(checks).map(([key, check]) => {
    const status = typeof check.status === 'string' ? check.status : 'unknown';
    const reason = check.error ?? check.last_error;
    return {
      key,
      label: labelOf(key),
      status,
      tone: statusTone(status),
      detail: status !== 'healthy' && typeof reason === 'string' ? reason : null,
    };
  });
}

// trend ----------------------------------------------------------------------------

const FIVE_MINUTES_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;

export interface Bucket {
  startMs: number;
  endMs: number;
}

/**
 * `hours` one-hour buckets, oldest first, ending at the 5-minute boundary after
 * the data clock (the newest reading, not the wall clock: a replay runs in its own time).
 */
export function hourlyBuckets(dataClockMs: number, hours: number): Bucket[] {
  const end = Math.ceil(dataClockMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
  return Array.from({ length: hours }, (_, i) => ({
    startMs: end - (hours - i) * HOUR_MS,
    endMs: end - (hours - i - 1) * HOUR_MS,
  }));
}

export interface TrendPoint {
  startMs: number;
  /** Mean of the hour's 5-minute window speeds over all segments, mph. */
  speedMph: number | null;
  /** Vehicles per 5 minutes over the network: the segments' mean window volumes, summed. */
  volumePer5Min: number | null;
}

export function trendPoint(bucket: Bucket, summary: AnalyticsSummary): TrendPoint {
  let volume = 0;
  let counted = 0;
  for (const row of summary.by_segment) {
    if (row.avg_volume != null && Number.isFinite(row.avg_volume)) {
      volume += row.avg_volume;
      counted += 1;
    }
  }
  const speed = summary.summary.avg_speed;
  return {
    startMs: bucket.startMs,
    speedMph: speed != null && Number.isFinite(speed) ? speed : null,
    volumePer5Min: counted > 0 ? volume : null,
  };
}
