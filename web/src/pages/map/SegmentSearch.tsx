// Search box over the road network: a combobox listing segments by id or name.
// Arrow keys move through the matches, Enter picks one, Escape closes the list.
import { useId, useMemo, useState, type KeyboardEvent } from 'react';
import { moveActive, searchSegments, type SearchHit } from '../../map/search';
import type { Segment } from '../../types';

interface SegmentSearchProps {
  segments: readonly Segment[];
  onPick: (segmentId: string) => void;
}

export function SegmentSearch({ segments, onPick }: SegmentSearchProps) {
  const id = useId();
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const hits = useMemo(() => searchSegments(segments, query), [segments, query]);
  const listId = `${id}-list`;
  const optionId = (i: number) => `${id}-option-${i}`;
  const showList = open && hits.length > 0;

  const pick = (hit: SearchHit) => {
    setQuery(hit.segment.name || hit.segment.segment_id);
    setOpen(false);
    setActive(-1);
    onPick(hit.segment.segment_id);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      setOpen(true);
      setActive((a) => moveActive(a, hits.length, event.key as 'ArrowDown' | 'ArrowUp'));
    } else if (event.key === 'Enter') {
      const hit = hits[active >= 0 ? active : 0];
      if (hit && (open || active >= 0)) {
        event.preventDefault();
        pick(hit);
      }
    } else if (event.key === 'Escape') {
      if (open) {
        event.preventDefault();
        event.stopPropagation();
        setOpen(false);
        setActive(-1);
      } else if (query) {
        setQuery('');
      }
    }
  };

  return (
    <div className="map-search">
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Find a segment by id or name
      </label>
      <input
        id={`${id}-input`}
        type="search"
        role="combobox"
        className="map-search-input"
        placeholder="Find a segment (id or name)"
        autoComplete="off"
        spellCheck={false}
        maxLength={120}
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={showList && active >= 0 ? optionId(active) : undefined}
        value={query}
        onChange={(event) => {
          setQuery(event.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" aria-label="Matching segments" className="map-search-list" hidden={!showList}>
        {hits.map((hit, i) => (
          <li
            key={hit.segment.segment_id}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className="map-search-option"
            // mousedown, not click: the input's blur would close the list first.
            onMouseDown={(event) => {
              event.preventDefault();
              pick(hit);
            }}
          >
            <span className="map-search-name">{hit.segment.name || hit.segment.segment_id}</span>
            <span className="map-search-id">{hit.segment.segment_id}</span>
          </li>
        ))}
      </ul>
      {open && query.trim() !== '' && hits.length === 0 && (
        <p className="map-search-empty" role="status">
          No segment matches “{query.trim()}”
        </p>
      )}
    </div>
  );
}
