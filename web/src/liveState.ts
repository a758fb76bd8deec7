// The live picture of the network: the latest reading of every segment, merged
// from the /api/traffic/current snapshot and `traffic_event` messages.
import { BANDS, DEFAULT_THRESHOLDS, speedBand, type Band, type BandThresholds } from './bands';
import type { CurrentTrafficRow, Reading } from './types';

export type Readings = Map<string, Reading>;

export interface NetworkSummary {
  counts: Record<Band, number>;
  /** Newest reading timestamp (ISO string), or null before any data. */
  latestTime: string | null;
}

function timeOf(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * A pushed event always wins: events arrive in order, and when a replay restarts
 * its timestamps legitimately go back in time.
 */
export function applyTrafficEvent(readings: Readings, segmentId: string, reading: Reading): void {
  readings.set(segmentId, reading);
}

/**
 * A snapshot is fetched (on start and after each reconnect) while events may
 * already be arriving, so a snapshot row only replaces an older reading.
 * Returns the ids whose reading changed.
 */
export function applySnapshot(readings: Readings, rows: readonly CurrentTrafficRow[]): string[] {
  const changed: string[] = [];
  for (const row of rows) {
    const previous = readings.get(row.segment_id);
    if (previous !== undefined && timeOf(previous.timestamp) >= timeOf(row.timestamp)) continue;
    const { segment_id: segmentId, ...reading } = row;
    readings.set(segmentId, reading);
    changed.push(segmentId);
  }
  return changed;
}

/** Counts by band over the known segments (segments without a reading are "no data"). */
export function summarize(
  segmentIds: readonly string[],
  readings: ReadonlyMap<string, Reading>,
  limits: BandThresholds = DEFAULT_THRESHOLDS,
): NetworkSummary {
  const counts = Object.fromEntries(BANDS.map((band) => [band, 0])) as Record<Band, number>;
  let latest = -Infinity;
  let latestTime: string | null = null;
  for (const id of segmentIds) {
    const reading = readings.get(id);
    counts[speedBand(reading?.speed, limits)] += 1;
    if (reading !== undefined) {
      const t = timeOf(reading.timestamp);
      if (t > latest) {
        latest = t;
        latestTime = reading.timestamp;
      }
    }
  }
  return { counts, latestTime };
}
