// The map's time control works in whole 5-minute windows, shown and typed in UTC
// like every time on the dashboard (see format.ts).

export const WINDOW_MS = 5 * 60_000;

/** Window starts the control can reach: from the oldest to the newest stored window. */
export interface HistoryRange {
  firstStart: number;
  lastStart: number;
}

export function parseIsoMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** From the API's earliest/latest window ends; null while nothing is stored. */
export function historyRange(earliestEnd: string | null, latestEnd: string | null): HistoryRange | null {
  const first = parseIsoMs(earliestEnd);
  const last = parseIsoMs(latestEnd);
  if (first === null || last === null || last < first) return null;
  return { firstStart: floorToWindow(first) - WINDOW_MS, lastStart: floorToWindow(last) - WINDOW_MS };
}

export function floorToWindow(ms: number): number {
  return Math.floor(ms / WINDOW_MS) * WINDOW_MS;
}

/** The start of the window holding `ms`, kept inside the range. */
export function clampWindowStart(ms: number, range: HistoryRange): number {
  if (!Number.isFinite(ms)) return range.lastStart;
  return Math.min(range.lastStart, Math.max(range.firstStart, floorToWindow(ms)));
}

/** `steps` windows later (negative: earlier), kept inside the range. */
export function stepWindow(start: number, steps: number, range: HistoryRange): number {
  return clampWindowStart(floorToWindow(start) + steps * WINDOW_MS, range);
}

/** How many windows the range holds (the slider's positions). */
export function windowCount(range: HistoryRange): number {
  return Math.round((range.lastStart - range.firstStart) / WINDOW_MS) + 1;
}

/** "2026-01-05T08:00" for <input type="datetime-local">, in UTC. */
export function toUtcInputValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** The UTC time typed in a datetime-local input, or null when it is not one. */
export function fromUtcInputValue(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match) return null;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  // Date.UTC rolls 2026-02-31 over into March; a typed date must exist as written.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  if (h > 23 || mi > 59 || s > 59) return null;
  return ms;
}

/** "2026-01-05 08:00–08:05 UTC" */
export function formatWindow(start: number): string {
  const from = new Date(start).toISOString();
  const to = new Date(start + WINDOW_MS).toISOString();
  return `${from.slice(0, 10)} ${from.slice(11, 16)}–${to.slice(11, 16)} UTC`;
}
