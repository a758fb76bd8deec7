// The congestion rule as an editable form: thresholds in % of free-flow speed,
// durations in minutes, scope and notification targets as lists. Validation
// mirrors the server's (src/trafficcast/alerts/rules.py) so most mistakes are
// caught before a round trip; the server's own field errors map onto the same fields.
import type { FieldProblem } from '../../api';
import type { CongestionRule } from './api';

export interface RuleForm {
  enabled: boolean;
  openPercent: string;
  openMinutes: string;
  resolvePercent: string;
  resolveMinutes: string;
  majorPercent: string;
  /** true: every segment; false: only those listed in scopeIds. */
  scopeAll: boolean;
  scopeIds: string;
  /** One target per line. */
  notify: string;
}

export type RuleField = Exclude<keyof RuleForm, 'scopeAll' | 'scopeIds'> | 'scope' | 'form';
export type RuleErrors = Partial<Record<RuleField, string>>;

export const DEFAULT_RULE: CongestionRule = {
  rule_id: 'congestion',
  alert_type: 'congestion',
  enabled: true,
  open_ratio: 0.5,
  open_minutes: 15,
  resolve_ratio: 0.65,
  resolve_minutes: 10,
  major_ratio: 0.3,
  scope: { segment_ids: null },
  notify: ['dashboard'],
};

export const MIN_MINUTES = 5;
export const MAX_MINUTES = 1440;
export const MAX_PERCENT = 150;
export const MAX_TARGETS = 20;

function percentText(ratio: number): string {
  return String(Math.round(ratio * 10_000) / 100);
}

export function formFromRule(rule: CongestionRule): RuleForm {
  const ids = rule.scope.segment_ids;
  return {
    enabled: rule.enabled,
    openPercent: percentText(rule.open_ratio),
    openMinutes: String(rule.open_minutes),
    resolvePercent: percentText(rule.resolve_ratio),
    resolveMinutes: String(rule.resolve_minutes),
    majorPercent: percentText(rule.major_ratio),
    scopeAll: ids === null,
    scopeIds: ids === null ? '' : ids.join('\n'),
    notify: rule.notify.join('\n'),
  };
}

/** Entries of a list typed one per line (commas also separate segment ids). */
export function parseList(text: string, commas = true): string[] {
  return text
    .split(commas ? /[\n,]/ : /\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** Why a notification target is malformed, or null. */
export function targetProblem(target: string): string | null {
  if (target.length > 500) return 'longer than 500 characters';
  if (target === 'dashboard') return null;
  const colon = target.indexOf(':');
  const kind = colon < 0 ? '' : target.slice(0, colon);
  const rest = target.slice(colon + 1);
  if (kind !== 'webhook' && kind !== 'email') return 'use dashboard, webhook:https://… or email:name@example.com';
  if (/[\s\u0000-\u001f]/.test(rest)) return 'no spaces or control characters';
  if (kind === 'email') return EMAIL.test(rest) ? null : 'not an e-mail address';
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    return 'not a URL';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    return 'must be an http:// or https:// URL with a host';
  }
  return null;
}

function readPercent(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  return Number(trimmed);
}

function readMinutes(text: string, errors: RuleErrors, field: 'openMinutes' | 'resolveMinutes'): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    errors[field] = 'Whole minutes';
    return null;
  }
  const value = Number(trimmed);
  if (value < MIN_MINUTES || value > MAX_MINUTES) errors[field] = `${MIN_MINUTES} to ${MAX_MINUTES} minutes`;
  else if (value % 5 !== 0) errors[field] = 'A multiple of 5 minutes (whole windows)';
  return value;
}

function duplicates(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const item of items) (seen.has(item) ? twice : seen).add(item);
  return [...twice];
}

function shortList(items: readonly string[]): string {
  return items.length > 3 ? `${items.slice(0, 3).join(', ')} and ${items.length - 3} more` : items.join(', ');
}

/** The rule the form describes, or the problems with it, each by field. */
export function validateRuleForm(
  form: RuleForm,
  isKnownSegment?: (segmentId: string) => boolean,
): { rule: CongestionRule | null; errors: RuleErrors } {
  const errors: RuleErrors = {};
  const open = readPercent(form.openPercent);
  const resolve = readPercent(form.resolvePercent);
  const major = readPercent(form.majorPercent);
  if (open === null) errors.openPercent = 'A number of percent';
  else if (open <= 0) errors.openPercent = 'Above 0 %';
  if (resolve === null) errors.resolvePercent = 'A number of percent';
  else if (open !== null && resolve <= open) errors.resolvePercent = `Above the open threshold (${open} %)`;
  else if (resolve > MAX_PERCENT) errors.resolvePercent = `At most ${MAX_PERCENT} %`;
  if (major === null) errors.majorPercent = 'A number of percent';
  else if (major <= 0) errors.majorPercent = 'Above 0 %';
  else if (open !== null && major >= open) errors.majorPercent = `Below the open threshold (${open} %)`;
  const openMinutes = readMinutes(form.openMinutes, errors, 'openMinutes');
  const resolveMinutes = readMinutes(form.resolveMinutes, errors, 'resolveMinutes');

  let segmentIds: string[] | null = null;
  if (!form.scopeAll) {
    segmentIds = parseList(form.scopeIds);
    const twice = duplicates(segmentIds);
    const unknown = isKnownSegment ? segmentIds.filter((id) => !isKnownSegment(id)) : [];
    if (segmentIds.length === 0) errors.scope = 'List at least one segment, or choose all segments';
    else if (twice.length) errors.scope = `Listed twice: ${shortList(twice)}`;
    else if (unknown.length) errors.scope = `Unknown segment${unknown.length > 1 ? 's' : ''}: ${shortList(unknown)}`;
  }

  const notify = parseList(form.notify, false);
  const twice = duplicates(notify);
  const bad = notify.map((t, i) => [i, targetProblem(t)] as const).find(([, p]) => p !== null);
  if (notify.length > MAX_TARGETS) errors.notify = `At most ${MAX_TARGETS} targets`;
  else if (twice.length) errors.notify = `Listed twice: ${shortList(twice)}`;
  else if (bad) errors.notify = `Line ${bad[0] + 1}: ${bad[1]}`;

  if (Object.keys(errors).length > 0) return { rule: null, errors };
  return {
    rule: {
      rule_id: 'congestion',
      alert_type: 'congestion',
      enabled: form.enabled,
      open_ratio: Math.round((open as number) * 100) / 10_000,
      open_minutes: openMinutes as number,
      resolve_ratio: Math.round((resolve as number) * 100) / 10_000,
      resolve_minutes: resolveMinutes as number,
      major_ratio: Math.round((major as number) * 100) / 10_000,
      scope: { segment_ids: segmentIds },
      notify,
    },
    errors,
  };
}

const SERVER_FIELDS: Record<string, RuleField> = {
  enabled: 'enabled',
  open_ratio: 'openPercent',
  open_minutes: 'openMinutes',
  resolve_ratio: 'resolvePercent',
  resolve_minutes: 'resolveMinutes',
  major_ratio: 'majorPercent',
  scope: 'scope',
  notify: 'notify',
};

/** The server's 422 details ("scope.segment_ids.3", "notify.1", …) on the form's fields. */
export function serverFieldErrors(problems: readonly FieldProblem[]): RuleErrors {
  const errors: RuleErrors = {};
  for (const { field, reason } of problems) {
    const [head, ...rest] = field.split('.');
    const target = SERVER_FIELDS[head ?? ''] ?? 'form';
    const index = rest.find((part) => /^\d+$/.test(part));
    const text = target === 'form' ? `${field}: ${reason}` : index !== undefined ? `Line ${Number(index) + 1}: ${reason}` : reason;
    errors[target] = errors[target] ? `${errors[target]}; ${text}` : text;
  }
  return errors;
}
