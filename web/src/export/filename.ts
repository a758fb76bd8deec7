// Export file names: "trafficcast-summary-day-2026-11-19_2026-11-26.csv".

/** The UTC calendar date of an ISO time, "2026-11-19"; "" for a bad time. */
export function isoDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().slice(0, 10);
}

/** The last UTC date inside a range whose end is exclusive ("...T00:00:00Z" of the next day). */
export function lastDateBefore(endIso: string): string {
  const t = Date.parse(endIso);
  return Number.isNaN(t) ? '' : new Date(t - 1).toISOString().slice(0, 10);
}

/** Lower-case words joined by "-", only [a-z0-9-]; dates keep their own dashes. */
function slug(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * "trafficcast-<parts...>-<from>_<to>.<ext>" for a range [startIso, endIso): the
 * dates are the first and the last UTC day the file covers (one date when they are the same).
 */
export function exportFilename(parts: readonly string[], range: { start: string; end: string } | null, ext: 'csv' | 'pdf'): string {
  const words = ['trafficcast', ...parts].map(slug).filter(Boolean);
  const from = range ? isoDate(range.start) : '';
  const to = range ? lastDateBefore(range.end) : '';
  const dates = from && to && from !== to ? `-${from}_${to}` : from ? `-${from}` : '';
  return `${words.join('-')}${dates}.${ext}`;
}
