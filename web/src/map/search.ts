// Finding a segment by id or name for the map's search box. Pure: the list of
// segments goes in, the best matches come out, best first.
import type { Segment } from '../types';

export interface SearchHit {
  segment: Segment;
  /** Lower is better: 0 exact id, 1 id prefix, 2 name prefix, 3 a word of the name starts with the query, 4 all words found. */
  rank: number;
}

export const DEFAULT_SEARCH_LIMIT = 8;

export function normalizeQuery(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

function rankOf(segment: Segment, query: string, words: readonly string[]): number | null {
  const id = segment.segment_id.toLowerCase();
  const name = normalizeQuery(segment.name ?? '');
  if (id === query) return 0;
  if (id.startsWith(query)) return 1;
  if (name.startsWith(query)) return 2;
  if (name.includes(` ${query}`)) return 3;
  const haystack = `${id} ${name} ${normalizeQuery(`${segment.road ?? ''} ${segment.direction ?? ''}`)}`;
  return words.every((word) => haystack.includes(word)) ? 4 : null;
}

/**
 * Segments matching `text` by id (exact, then prefix) or name (prefix, word
 * prefix, then every word somewhere in id, name, road or direction); ties keep
 * the catalog's order. An empty query finds nothing.
 */
export function searchSegments(
  segments: readonly Segment[],
  text: string,
  limit: number = DEFAULT_SEARCH_LIMIT,
): SearchHit[] {
  const query = normalizeQuery(text);
  if (query === '' || limit <= 0) return [];
  const words = query.split(' ');
  const hits: SearchHit[] = [];
  for (const segment of segments) {
    const rank = rankOf(segment, query, words);
    if (rank !== null) hits.push({ segment, rank });
  }
  // Array.prototype.sort is stable, so equal ranks keep the catalog's order.
  hits.sort((a, b) => a.rank - b.rank);
  return hits.slice(0, limit);
}

/** The option index after pressing an arrow key in a list of `count` options (wraps; -1 = none). */
export function moveActive(active: number, count: number, key: 'ArrowDown' | 'ArrowUp'): number {
  if (count <= 0) return -1;
  if (key === 'ArrowDown') return active < 0 || active >= count - 1 ? 0 : active + 1;
  return active <= 0 ? count - 1 : active - 1;
}
