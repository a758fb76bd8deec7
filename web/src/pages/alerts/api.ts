// The alert actions and the congestion rule (src/trafficcast/api/routes/alerts.py);
// the alert list and its shapes are shared (../../api, ../../types).
import { getJson, sendJson } from '../../api';
import type { AlertRecord } from '../../types';

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
  /** Escalation (not edited by the dashboard's form; kept as stored when it saves). */
  escalate_after_minutes?: number | null;
  escalate_to?: string[];
}

/** Any rule type's common fields (GET /api/alerts/rules lists every type; the
 * dashboard's form edits the congestion rule alone). */
export interface AnyRule {
  rule_id: string;
  alert_type: string;
  enabled: boolean;
  notify: string[];
  escalate_after_minutes: number | null;
  escalate_to: string[];
  [field: string]: unknown;
}

export interface RuleListResponse {
  rules: AnyRule[];
}

export function actOnAlert(alertId: string, action: 'acknowledge' | 'resolve', note: string | null): Promise<AlertRecord> {
  // The id may hold characters a path must escape; the server accepts slashes as they are.
  const path = `/api/alerts/${alertId.split('/').map(encodeURIComponent).join('/')}/${action}`;
  return sendJson<AlertRecord>('POST', path, note ? { note } : {});
}

export function fetchRule(signal?: AbortSignal): Promise<CongestionRule> {
  return getJson<CongestionRule>('/api/alerts/rules/congestion', signal);
}

export function saveRule(rule: CongestionRule): Promise<CongestionRule> {
  return sendJson<CongestionRule>('PUT', '/api/alerts/rules/congestion', rule);
}
