// Active alerts as the map shows them: one icon per segment with an open or
// acknowledged alert, in the colour of its worst severity.
import type { FeatureCollection, Point } from 'geojson';
import type { AlertRecord, LngLat } from '../types';

export const ACTIVE_STATES: ReadonlySet<string> = new Set(['open', 'acknowledged']);

export type Severity = 'critical' | 'major' | 'minor' | 'info';

export const SEVERITY_COLORS: Readonly<Record<Severity, string>> = {
  critical: '#ff3b5c',
  major: '#ff8a00',
  minor: '#ffd54a',
  info: '#4ea8ff',
};

const RANK: Readonly<Record<Severity, number>> = { critical: 3, major: 2, minor: 1, info: 0 };

/** Unknown severities (a newer server) are shown as info rather than dropped. */
export function severityOf(text: string | null | undefined): Severity {
  const value = (text ?? '').toLowerCase();
  if (value === 'critical' || value === 'high') return 'critical';
  if (value === 'major' || value === 'warning' || value === 'medium') return 'major';
  if (value === 'minor' || value === 'low') return 'minor';
  return 'info';
}

export type ActiveAlerts = ReadonlyMap<string, AlertRecord>;

/** The active ones among `rows`, by alert_id (the API's list may mix states). */
export function activeAlerts(rows: readonly AlertRecord[]): Map<string, AlertRecord> {
  const out = new Map<string, AlertRecord>();
  for (const row of rows) if (ACTIVE_STATES.has(row.state) && row.alert_id) out.set(row.alert_id, row);
  return out;
}

/** `alerts` after one live alert message: added or updated while active, removed once resolved. */
export function mergeAlert(alerts: ActiveAlerts, row: AlertRecord): Map<string, AlertRecord> {
  const out = new Map(alerts);
  if (ACTIVE_STATES.has(row.state)) out.set(row.alert_id, row);
  else out.delete(row.alert_id);
  return out;
}

/** A live message's data as an alert row, or null when it is not one. */
export function alertFromMessage(segmentId: string, data: Record<string, unknown>): AlertRecord | null {
  const { alert_id: id, state, severity, alert_type: type } = data;
  if (typeof id !== 'string' || typeof state !== 'string') return null;
  return {
    alert_id: id,
    alert_type: typeof type === 'string' ? type : 'alert',
    severity: typeof severity === 'string' ? severity : 'info',
    segment_id: typeof data.segment_id === 'string' ? data.segment_id : segmentId,
    state,
    opened_at: typeof data.opened_at === 'string' ? data.opened_at : '',
    resolved_at: typeof data.resolved_at === 'string' ? data.resolved_at : null,
    message: typeof data.message === 'string' ? data.message : null,
    acknowledged_at: typeof data.acknowledged_at === 'string' ? data.acknowledged_at : null,
    acknowledged_by: typeof data.acknowledged_by === 'string' ? data.acknowledged_by : null,
    note: typeof data.note === 'string' ? data.note : null,
    updated_at: typeof data.updated_at === 'string' ? data.updated_at : '',
  };
}

export interface SegmentAlerts {
  severity: Severity;
  count: number;
  /** The worst alert (newest among equals), for the tooltip. */
  top: AlertRecord;
}

export function alertsBySegment(alerts: ActiveAlerts): Map<string, SegmentAlerts> {
  const out = new Map<string, SegmentAlerts>();
  for (const alert of alerts.values()) {
    if (!alert.segment_id) continue; // system alerts have no place on the map
    const severity = severityOf(alert.severity);
    const seen = out.get(alert.segment_id);
    if (!seen) {
      out.set(alert.segment_id, { severity, count: 1, top: alert });
      continue;
    }
    seen.count += 1;
    const worse = RANK[severity] > RANK[seen.severity];
    const newer = RANK[severity] === RANK[seen.severity] && alert.opened_at > seen.top.opened_at;
    if (worse || newer) {
      seen.severity = severity;
      seen.top = alert;
    }
  }
  return out;
}

export interface AlertProperties {
  segment_id: string;
  severity: Severity;
  count: number;
  /** Higher draws on top. */
  rank: number;
}

/** One point per segment with active alerts, at its anchor; segments not on the map are left out. */
export function alertFeatures(
  bySegment: ReadonlyMap<string, SegmentAlerts>,
  anchorOf: (segmentId: string) => LngLat | undefined,
): FeatureCollection<Point, AlertProperties> {
  const features: FeatureCollection<Point, AlertProperties>['features'] = [];
  for (const [segmentId, alerts] of bySegment) {
    const anchor = anchorOf(segmentId);
    if (!anchor) continue;
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: anchor },
      properties: { segment_id: segmentId, severity: alerts.severity, count: alerts.count, rank: RANK[alerts.severity] },
    });
  }
  return { type: 'FeatureCollection', features };
}
