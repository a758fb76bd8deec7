// The registry's figures as the page shows them: headline errors per model, the
// per-horizon metrics table of one model, and their formatting in the viewer's unit.
import { convertSpeed, formatDateTimeUtc, type SpeedUnit } from '../../format';
import type { ModelSummary, Scores, TestScores, TrainingWindow } from './api';

/** The horizons the registry table shows (the rest are in the detail pane). */
export const HEADLINE_HORIZONS: readonly number[] = [15, 30, 45, 60];

export type Metric = 'mae' | 'rmse' | 'coverage';

/** One metric at one horizon, or null when it was not (or could not be) scored. */
export function scoreAt(scores: Scores | undefined | null, metric: Metric, horizon: number): number | null {
  const value = scores?.[metric]?.[String(horizon)];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A model's MAE at the headline horizons, from its validation or held-out test scores. */
export function headlineMae(
  model: ModelSummary,
  slice: 'validation' | 'test',
  quantity = 'speed',
  horizons: readonly number[] = HEADLINE_HORIZONS,
): (number | null)[] {
  const scores = model[slice]?.[quantity];
  return horizons.map((h) => scoreAt(scores, 'mae', h));
}

/** Quantities a model was scored on, speed first. */
export function quantitiesOf(model: Pick<ModelSummary, 'validation' | 'test'>): string[] {
  const names = new Set([...Object.keys(model.validation ?? {}), ...Object.keys(model.test ?? {})]);
  return [...names].sort((a, b) => (a === 'speed' ? -1 : b === 'speed' ? 1 : a.localeCompare(b)));
}

export interface MetricRow {
  horizon: number;
  validationMae: number | null;
  validationRmse: number | null;
  validationCoverage: number | null;
  testMae: number | null;
  testRmse: number | null;
  testCoverage: number | null;
  /** The persistence baseline's test MAE: what "no model" would have scored. */
  persistenceMae: number | null;
}

function horizonsIn(scores: Scores | undefined | null): number[] {
  if (!scores) return [];
  const keys = new Set<string>();
  for (const metric of ['mae', 'rmse', 'coverage'] as const) {
    for (const key of Object.keys(scores[metric] ?? {})) keys.add(key);
  }
  return [...keys].map(Number).filter((h) => Number.isInteger(h) && h > 0);
}

/** One row per horizon any of the slices scored, ascending. */
export function metricRows(validation: Scores | undefined | null, test: TestScores | undefined | null): MetricRow[] {
  const persistence = test?.baselines?.persistence;
  const horizons = [...new Set([...horizonsIn(validation), ...horizonsIn(test)])].sort((a, b) => a - b);
  return horizons.map((horizon) => ({
    horizon,
    validationMae: scoreAt(validation, 'mae', horizon),
    validationRmse: scoreAt(validation, 'rmse', horizon),
    validationCoverage: scoreAt(validation, 'coverage', horizon),
    testMae: scoreAt(test, 'mae', horizon),
    testRmse: scoreAt(test, 'rmse', horizon),
    testCoverage: scoreAt(test, 'coverage', horizon),
    persistenceMae: scoreAt(persistence, 'mae', horizon),
  }));
}

/** An error (MAE, RMSE) of `quantity`: speeds in the viewer's unit, volumes in vehicles. */
export function formatError(value: number | null | undefined, quantity: string, unit: SpeedUnit): string {
  if (value == null || !Number.isFinite(value)) return '—';
  return quantity === 'speed' ? convertSpeed(value, unit).toFixed(2) : value.toFixed(1);
}

/** The unit an error of `quantity` is in. */
export function errorUnit(quantity: string, unit: SpeedUnit): string {
  if (quantity !== 'speed') return 'vehicles';
  return unit === 'kmh' ? 'km/h' : 'mph';
}

/** A share in [0, 1] as a whole percentage, e.g. "81 %". */
export function formatCoverage(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? '—' : `${Math.round(value * 100)} %`;
}

/** "2026-01-05 08:00 → 2026-01-06 08:00 UTC" and "24 h of 300 segments". */
export function describeWindow(window: TrainingWindow | null | undefined): { range: string; size: string } {
  if (!window) return { range: '—', size: '' };
  const start = formatDateTimeUtc(window.start).replace(' UTC', '');
  const end = formatDateTimeUtc(window.end);
  const minutes = window.steps * 5;
  const hours = Math.floor(minutes / 60);
  const span = hours >= 48 ? `${(minutes / 1440).toFixed(1)} days` : `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return { range: `${start} → ${end}`, size: `${span} of ${window.segments} segments` };
}

export type ModelStatus = 'live' | 'promoted' | null;

/** Live: serving the forecasts now. Promoted but not live: chosen, but it could not load. */
export function modelStatus(model: Pick<ModelSummary, 'live' | 'promoted'>): ModelStatus {
  if (model.live) return 'live';
  return model.promoted ? 'promoted' : null;
}

export interface CandidateScore {
  kind: string;
  /** Mean validation MAE over the horizons it was scored at. */
  meanMae: number | null;
  chosen: boolean;
}

/** Every candidate training tried for `quantity`, best first, from the model's metadata. */
export function candidateScores(metadata: Record<string, unknown> | undefined, quantity: string, chosenKind: string): CandidateScore[] {
  const all = metadata?.candidates;
  if (typeof all !== 'object' || all === null) return [];
  const candidates = (all as Record<string, unknown>)[quantity];
  if (typeof candidates !== 'object' || candidates === null) return [];
  const out: CandidateScore[] = [];
  for (const [kind, scores] of Object.entries(candidates as Record<string, unknown>)) {
    const mae = typeof scores === 'object' && scores !== null ? (scores as { mae?: unknown }).mae : undefined;
    const values =
      typeof mae === 'object' && mae !== null
        ? Object.values(mae as Record<string, unknown>).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
        : [];
    out.push({
      kind,
      meanMae: values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null,
      chosen: kind === chosenKind,
    });
  }
  return out.sort((a, b) => (a.meanMae ?? Infinity) - (b.meanMae ?? Infinity) || a.kind.localeCompare(b.kind));
}

// grouped models ---------------------------------------------------------------------
// A grouped model (one forecaster per segment group, docs/decisions/0022) keeps each
// group's record under metadata.groups. Metadata is untyped JSON from disk, so every
// reader here checks shapes and skips what it cannot read rather than throwing.

/** The horizons the segment-groups table shows, to stay narrow in the detail pane. */
export const GROUP_HORIZONS: readonly number[] = [15, 30, 60];

export interface GroupRow {
  name: string;
  segments: number | null;
  /** The candidate kind chosen on validation for the quantity, null when not recorded. */
  chosen: string | null;
  validationMae: (number | null)[];
  testMae: (number | null)[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The group records of a grouped model's metadata; null for a model without groups. */
function groupRecords(metadata: Record<string, unknown> | null | undefined): Record<string, unknown>[] | null {
  const groups = metadata?.groups;
  if (!Array.isArray(groups)) return null;
  return groups.filter((g): g is Record<string, unknown> => isRecord(g) && typeof g.name === 'string' && g.name !== '');
}

function quantityScores(slice: unknown, quantity: string): Scores | null {
  if (!isRecord(slice)) return null;
  const scores = slice[quantity];
  return isRecord(scores) ? (scores as Scores) : null;
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/** One row per readable group record, in the metadata's order; null for a model without groups. */
export function groupRows(
  metadata: Record<string, unknown> | null | undefined,
  quantity: string,
  horizons: readonly number[] = GROUP_HORIZONS,
): GroupRow[] | null {
  const records = groupRecords(metadata);
  if (records === null) return null;
  return records.map((g) => {
    const chosen = isRecord(g.chosen) ? g.chosen[quantity] : undefined;
    const validation = quantityScores(g.validation, quantity);
    const test = quantityScores(g.test, quantity);
    return {
      name: g.name as string,
      segments: count(g.segments),
      chosen: typeof chosen === 'string' && chosen !== '' ? chosen : null,
      validationMae: horizons.map((h) => scoreAt(validation, 'mae', h)),
      testMae: horizons.map((h) => scoreAt(test, 'mae', h)),
    };
  });
}

export interface ChosenCounts {
  /** The groups read (each a vote, chosen or not). */
  groups: number;
  /** candidate kind -> in how many groups validation chose it. */
  byKind: Record<string, number>;
}

/** How often each candidate was chosen across the groups; null for a model without groups. */
export function chosenCounts(metadata: Record<string, unknown> | null | undefined, quantity: string): ChosenCounts | null {
  const rows = groupRows(metadata, quantity, []);
  if (rows === null) return null;
  const byKind: Record<string, number> = {};
  for (const row of rows) if (row.chosen !== null) byKind[row.chosen] = (byKind[row.chosen] ?? 0) + 1;
  return { groups: rows.length, byKind };
}

/** "(chosen in 2 of 3 groups)" for a grouped model, "(chosen)" or "" for a single one. */
export function chosenLabel(candidate: CandidateScore, counts: ChosenCounts | null): string {
  if (counts === null) return candidate.chosen ? ' (chosen)' : '';
  const n = counts.byKind[candidate.kind] ?? 0;
  return ` (chosen in ${n} of ${counts.groups} group${counts.groups === 1 ? '' : 's'})`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "3 groups of 170 segments in all, 68 road links cut between groups"; null without groups. */
export function describeGrouping(metadata: Record<string, unknown> | null | undefined): string | null {
  const rows = groupRows(metadata, '', []);
  if (rows === null) return null;
  const grouping = isRecord(metadata?.grouping) ? metadata.grouping : {};
  const groups = count(grouping.groups) ?? rows.length;
  const sizes = rows.map((r) => r.segments);
  // A total over only the readable records would understate the model's reach.
  const complete = rows.length === groups && sizes.every((s) => s !== null);
  const segments = complete ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : null;
  const cut = count(grouping.cut_links);
  return (
    `${plural(groups, 'group', 'groups')} of ${segments === null ? '— segments' : plural(segments, 'segment', 'segments')} in all, ` +
    `${cut === null ? '— road links' : plural(cut, 'road link', 'road links')} cut between groups`
  );
}
