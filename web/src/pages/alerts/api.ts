// The alert endpoints (src/trafficcast/api/routes/alerts.py) and their shapes.
import { ApiError, getJson } from '../../api';

export type AlertState = 'open' | 'acknowledged' | 'resolved';

export interface AlertRecord {
  alert_id: string;
  alert_type: string;
  severity: string;
  segment_id: string | null;
  state: AlertState | string;
  opened_at: string;
  resolved_at: string | null;
  message: string | null;
  acknowledged_at: string | null;
  /** Null until users and login exist. */
  acknowledged_by: string | null;
  note: string | null;
  updated_at: string;
}

export interface AlertListResponse {
  alerts: AlertRecord[];
}

export interface CongestionRule {
  rule_id: 'congestion';
  alert_type: 'congestion';
  enabled: boolean;
  open_ratio: number;
  open_minutes: number;
  resolve_ratio: number;
  resolve_minutes: number;
  major_ratio: number;
  scope: { segment_ids: string[] | null };
  notify: string[];
}

export interface RuleListResponse {
  rules: CongestionRule[];
}

export interface FieldProblem {
  field: string;
  reason: string;
}

/** An API error with the envelope's details (422s name each field). */
export class AlertsApiError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details: FieldProblem[],
    requestId?: string,
  ) {
    super(status, code, message, requestId);
  }
}

function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d): FieldProblem[] =>
    typeof d === 'object' && d !== null && typeof d.field === 'string' && typeof d.reason === 'string'
      ? [{ field: d.field, reason: d.reason }]
      : [],
  );
}

async function send<T>(method: 'POST' | 'PUT', path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  let parsed: unknown = null;
  try {
    parsed = await response.json();
  } catch {
    // a proxy's HTML page or nothing: handled below
  }
  if (!response.ok) {
    const envelope = parsed as { error?: { code?: string; message?: string; details?: unknown }; request_id?: string } | null;
    const error = envelope?.error;
    throw new AlertsApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `${response.status} ${response.statusText}`.trim(),
      fieldProblems(error?.details),
      envelope?.request_id,
    );
  }
  return parsed as T;
}

export function fetchAlerts(query: string, signal?: AbortSignal): Promise<AlertListResponse> {
  return getJson<AlertListResponse>(`/api/alerts${query ? `?${query}` : ''}`, signal);
}

export function actOnAlert(alertId: string, action: 'acknowledge' | 'resolve', note: string | null): Promise<AlertRecord> {
  // The id may hold characters a path must escape; the server accepts slashes as they are.
  const path = `/api/alerts/${alertId.split('/').map(encodeURIComponent).join('/')}/${action}`;
  return send<AlertRecord>('POST', path, note ? { note } : {});
}

export function fetchRule(signal?: AbortSignal): Promise<CongestionRule> {
  return getJson<CongestionRule>('/api/alerts/rules/congestion', signal);
}

export function saveRule(rule: CongestionRule): Promise<CongestionRule> {
  return send<CongestionRule>('PUT', '/api/alerts/rules/congestion', rule);
}
