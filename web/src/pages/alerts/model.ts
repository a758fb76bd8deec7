// The alerts page's logic, free of React: history filters as a query string, the
// active list kept current by live messages and by the operator's own actions.
import type { AlertRecord } from '../../types';

export type StateFilter = '' | 'active' | 'open' | 'acknowledged' | 'resolved';

export interface HistoryFilters {
  state: StateFilter;
  severity: string;
  alertType: string;
  segmentId: string;
  /** `YYYY-MM-DDTHH:MM` in UTC (a datetime-local input's value), or ''. */
  from: string;
  to: string;
}

export const EMPTY_FILTERS: HistoryFilters = {
  state: '',
  severity: '',
  alertType: '',
  segmentId: '',
  from: '',
  to: '',
};

export const HISTORY_LIMIT = 200;
/** The active list asks for this many; far more than an operator can work through. */
export const ACTIVE_LIMIT = 1000;
export const ACTIVE_QUERY = `state=active&limit=${ACTIVE_LIMIT}`;
export const SEVERITIES = ['minor', 'major'] as const;
/** Every type the alert engine raises (src/trafficcast/alerts/types.py). */
export const ALERT_TYPES = [
  'congestion',
  'incident',
  'predicted_congestion',
  'forecast_accuracy',
  'system',
] as const;

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

/** A datetime-local value read as UTC, as ISO 8601; null when empty or malformed. */
export function utcInputToIso(value: string): string | null {
  if (!LOCAL_TIME.test(value)) return null;
  const iso = `${value.length === 16 ? `${value}:00` : value}Z`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** Problems with the filters, by field (only the date range can be wrong). */
export function filterErrors(filters: HistoryFilters): Partial<Record<keyof HistoryFilters, string>> {
  const errors: Partial<Record<keyof HistoryFilters, string>> = {};
  const from = filters.from ? utcInputToIso(filters.from) : null;
  const to = filters.to ? utcInputToIso(filters.to) : null;
  if (filters.from && !from) errors.from = 'Not a date and time';
  if (filters.to && !to) errors.to = 'Not a date and time';
  if (from && to && Date.parse(to) < Date.parse(from)) errors.to = 'Before the start';
  return errors;
}

/** The GET /api/alerts query string for these filters (only the set ones). */
export function historyQuery(filters: HistoryFilters, limit: number = HISTORY_LIMIT): string {
  const query = new URLSearchParams();
  if (filters.state) query.set('state', filters.state);
  if (filters.severity) query.set('severity', filters.severity);
  if (filters.alertType) query.set('alert_type', filters.alertType);
  const segment = filters.segmentId.trim();
  if (segment) query.set('segment_id', segment);
  const from = utcInputToIso(filters.from);
  const to = utcInputToIso(filters.to);
  if (from) query.set('since', from);
  if (to) query.set('until', to);
  query.set('limit', String(limit));
  return query.toString();
}

export function isActive(alert: Pick<AlertRecord, 'state'>): boolean {
  return alert.state === 'open' || alert.state === 'acknowledged';
}

/** The server's order: newest opened first, then by id. */
export function compareNewestFirst(a: AlertRecord, b: AlertRecord): number {
  const byTime = Date.parse(b.opened_at) - Date.parse(a.opened_at);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  return a.alert_id < b.alert_id ? -1 : a.alert_id > b.alert_id ? 1 : 0;
}

const TEXT_FIELDS = ['alert_type', 'severity', 'state', 'opened_at', 'updated_at'] as const;
const NULLABLE_FIELDS = ['segment_id', 'resolved_at', 'message', 'acknowledged_at', 'acknowledged_by', 'note'] as const;

/**
 * An alert from a live message's data, over what was known of it (a message may
 * carry only some fields); null when it is not an alert at all.
 */
export function alertFromMessage(data: unknown, previous?: AlertRecord): AlertRecord | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.alert_id !== 'string' || !d.alert_id) return null;
  if (previous && previous.alert_id !== d.alert_id) previous = undefined;
  const merged: Record<string, unknown> = { ...previous };
  merged.alert_id = d.alert_id;
  for (const key of TEXT_FIELDS) {
    if (typeof d[key] === 'string') merged[key] = d[key];
  }
  for (const key of NULLABLE_FIELDS) {
    if (typeof d[key] === 'string' || d[key] === null) merged[key] = d[key];
  }
  if (typeof merged.state !== 'string' || typeof merged.opened_at !== 'string') return null;
  for (const key of TEXT_FIELDS) merged[key] ??= '';
  for (const key of NULLABLE_FIELDS) merged[key] ??= null;
  if (!merged.updated_at) merged.updated_at = merged.opened_at;
  return merged as unknown as AlertRecord;
}

/** The active list after a change to one alert: added, replaced, or dropped once resolved. */
export function applyToActive(list: readonly AlertRecord[], alert: AlertRecord): AlertRecord[] {
  const others = list.filter((a) => a.alert_id !== alert.alert_id);
  if (!isActive(alert)) return others;
  return [...others, alert].sort(compareNewestFirst);
}

/** Whether `incoming` is at least as new as `current` (a late message must not undo a change). */
export function isNewer(incoming: AlertRecord, current: AlertRecord | undefined): boolean {
  if (!current) return true;
  const rank = (s: string) => (s === 'resolved' ? 2 : s === 'acknowledged' ? 1 : 0);
  if (rank(incoming.state) !== rank(current.state)) return rank(incoming.state) > rank(current.state);
  return Date.parse(incoming.updated_at) >= Date.parse(current.updated_at);
}

/** What the operator's action will make of the alert, shown until the server answers. */
export function withAction(
  alert: AlertRecord,
  action: 'acknowledge' | 'resolve',
  note: string | null,
  nowIso: string,
): AlertRecord {
  const next: AlertRecord = { ...alert, note: note ?? alert.note, updated_at: nowIso };
  if (action === 'acknowledge') {
    next.state = 'acknowledged';
    next.acknowledged_at = alert.acknowledged_at ?? nowIso;
  } else {
    next.state = 'resolved';
    next.resolved_at = nowIso;
  }
  return next;
}

/** "45 s", "12 min", "3 h 05 min", "2 d 4 h"; "—" for a bad time. */
export function formatAge(sinceIso: string, nowMs: number): string {
  const since = Date.parse(sinceIso);
  if (Number.isNaN(since)) return '—';
  const seconds = Math.max(0, Math.floor((nowMs - since) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Counts by severity, for the active list's heading. */
export function countBySeverity(alerts: readonly AlertRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of alerts) counts[a.severity] = (counts[a.severity] ?? 0) + 1;
  return counts;
}
