// Finding a segment by id, name or road for the on-demand forecast.
import type { Segment } from '../../types';

export const SEARCH_LIMIT = 50;

function rank(segment: Segment, query: string): number {
  const id = segment.segment_id.toLowerCase();
  if (id === query) return 0;
  if (id.startsWith(query)) return 1;
  const name = (segment.name ?? '').toLowerCase();
  if (name.startsWith(query)) return 2;
  if (id.includes(query) || name.includes(query)) return 3;
  if ((segment.road ?? '').toLowerCase().includes(query)) return 4;
  return -1;
}

/** Matches for `query` (exact id, then id prefix, name prefix, any part), at most `limit`. */
export function searchSegments(segments: readonly Segment[], query: string, limit = SEARCH_LIMIT): Segment[] {
  const q = query.trim().toLowerCase();
  if (!q) return segments.slice(0, limit);
  const ranked: { segment: Segment; rank: number }[] = [];
  for (const segment of segments) {
    const r = rank(segment, q);
    if (r >= 0) ranked.push({ segment, rank: r });
  }
  ranked.sort((a, b) => a.rank - b.rank || a.segment.segment_id.localeCompare(b.segment.segment_id));
  return ranked.slice(0, limit).map((r) => r.segment);
}

/** "S0012 · Main St northbound" */
export function segmentLabel(segment: Segment): string {
  const name = segment.name && segment.name !== segment.segment_id ? segment.name : '';
  const direction = segment.direction ? ` ${segment.direction}` : '';
  return name ? `${segment.segment_id} · ${name}${direction}` : segment.segment_id;
}
