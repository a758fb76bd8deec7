// How a window's values came about, in words an operator reads next to a speed, and
// the counts a page shows so an imputed value is never mistaken for a measured one
// (docs/decisions/0018-window-fill-flags.md).
import type { TrafficWindow, WindowFill } from './types';

/** A window without `fill` comes from a server before fill flags: its values were measured. */
export function fillOf(window: Pick<TrafficWindow, 'fill'>): WindowFill {
  return window.fill ?? 'observed';
}

export function isImputed(fill: WindowFill | null | undefined): fill is 'imputed_neighbours' | 'imputed_profile' {
  return fill === 'imputed_neighbours' || fill === 'imputed_profile';
}

/** "estimated from neighbours" / "estimated from the usual profile" / "no data"; null when measured or unknown. */
export function fillNote(fill: WindowFill | null | undefined): string | null {
  switch (fill) {
    case 'imputed_neighbours':
      return 'estimated from neighbours';
    case 'imputed_profile':
      return 'estimated from the usual profile';
    case 'missing':
      return 'no data (detector silent)';
    default:
      return null;
  }
}

/** A forecast's note on its input: "from imputed input (neighbours)"; null when measured or not recorded. */
export function inputFillNote(fill: WindowFill | null | undefined): string | null {
  if (fill === 'imputed_neighbours') return 'from imputed input (neighbours)';
  if (fill === 'imputed_profile') return 'from imputed input (usual profile)';
  if (fill === 'missing') return 'from a missing window';
  return null;
}

export interface FillCounts {
  total: number;
  observed: number;
  neighbours: number;
  profile: number;
  missing: number;
  /** neighbours + profile */
  imputed: number;
}

export function countFill(windows: readonly Pick<TrafficWindow, 'fill'>[]): FillCounts {
  const counts = { total: windows.length, observed: 0, neighbours: 0, profile: 0, missing: 0, imputed: 0 };
  for (const w of windows) {
    const fill = fillOf(w);
    if (fill === 'imputed_neighbours') counts.neighbours += 1;
    else if (fill === 'imputed_profile') counts.profile += 1;
    else if (fill === 'missing') counts.missing += 1;
    else counts.observed += 1;
  }
  counts.imputed = counts.neighbours + counts.profile;
  return counts;
}

/** "3 of 36 windows imputed in this range (2 from neighbours, 1 from the usual profile); 1 missing". */
export function fillSummary(counts: FillCounts): string {
  const windows = counts.total === 1 ? 'window' : 'windows';
  let text = `${counts.imputed} of ${counts.total} ${windows} imputed in this range`;
  if (counts.imputed > 0) {
    const parts: string[] = [];
    if (counts.neighbours > 0) parts.push(`${counts.neighbours} from neighbours`);
    if (counts.profile > 0) parts.push(`${counts.profile} from the usual profile`);
    text += ` (${parts.join(', ')})`;
  }
  if (counts.missing > 0) text += `; ${counts.missing} missing`;
  return text;
}

/** The newest window by start, or null. */
export function latestWindow<W extends Pick<TrafficWindow, 'window_start'>>(windows: readonly W[]): W | null {
  let best: W | null = null;
  let bestTime = -Infinity;
  for (const w of windows) {
    const t = Date.parse(w.window_start);
    if (!Number.isNaN(t) && t >= bestTime) {
      best = w;
      bestTime = t;
    }
  }
  return best;
}

export interface FillSpan {
  /** epoch seconds */
  start: number;
  end: number;
  fill: 'imputed_neighbours' | 'imputed_profile';
}

/**
 * Runs of consecutive imputed windows of one kind (start → end of the run, epoch
 * seconds), to shade on a chart. Windows must be of one size; any other window, or
 * a hole between two windows, ends a run.
 */
export function imputedSpans(windows: readonly Pick<TrafficWindow, 'window_start' | 'window_end' | 'fill'>[]): FillSpan[] {
  const rows = windows
    .map((w) => ({ start: Date.parse(w.window_start) / 1000, end: Date.parse(w.window_end) / 1000, fill: fillOf(w) }))
    .filter((r) => Number.isFinite(r.start) && Number.isFinite(r.end))
    .sort((a, b) => a.start - b.start);
  const spans: FillSpan[] = [];
  for (const r of rows) {
    if (!isImputed(r.fill)) continue;
    const last = spans.at(-1);
    if (last && last.fill === r.fill && last.end === r.start) last.end = r.end;
    else spans.push({ start: r.start, end: r.end, fill: r.fill });
  }
  return spans;
}

/** The segments whose window was not measured, by id (sparse: most windows are observed). */
export function unmeasuredBySegment(
  rows: readonly { segment_id: string; fill?: WindowFill }[],
): ReadonlyMap<string, WindowFill> {
  const fills = new Map<string, WindowFill>();
  for (const row of rows) {
    const fill = fillOf(row);
    if (fill !== 'observed') fills.set(row.segment_id, fill);
  }
  return fills;
}
