// Live or a past 5-minute window: a slider over the stored windows, previous /
// next buttons and a UTC date-time field.
import { useEffect, useState } from 'react';
import {
  WINDOW_MS,
  clampWindowStart,
  formatWindow,
  fromUtcInputValue,
  stepWindow,
  toUtcInputValue,
  windowCount,
  type HistoryRange,
} from '../../map/historyTime';
import type { HistoryLayerState } from './useHistoryLayer';

interface TimeControlProps {
  past: boolean;
  /** Start of the window asked for (ms), or null for "the newest". */
  requested: number | null;
  history: HistoryLayerState;
  onLive: () => void;
  onPast: (start: number | 'latest') => void;
}

export function TimeControl({ past, requested, history, onLive, onPast }: TimeControlProps) {
  const range: HistoryRange | null = history.range;
  const shownStart = history.response?.window_start ? Date.parse(history.response.window_start) : null;
  const current = requested ?? shownStart ?? range?.lastStart ?? null;
  const [typed, setTyped] = useState('');
  const [typedError, setTypedError] = useState<string | null>(null);

  useEffect(() => {
    if (current !== null) setTyped(toUtcInputValue(current));
  }, [current]);

  const go = (start: number) => {
    if (range) onPast(clampWindowStart(start, range));
  };

  return (
    <section className={`map-card map-time${past ? ' map-time-past' : ''}`} aria-labelledby="map-time-title">
      <div className="map-time-head">
        <h2 id="map-time-title" className="card-title map-card-title">
          Time
        </h2>
        <div className="map-segmented" role="group" aria-label="Live or past">
          <button type="button" aria-pressed={!past} onClick={onLive}>
            Live
          </button>
          <button type="button" aria-pressed={past} onClick={() => onPast(requested ?? 'latest')}>
            Past
          </button>
        </div>
      </div>
      {!past && <p className="map-note">Speeds update live. Choose Past to look back over the stored windows.</p>}
      {past && (
        <>
          <p className="map-time-shown" role="status" data-testid="history-window">
            {shownStart !== null ? formatWindow(shownStart) : history.loading ? 'Loading…' : '—'}
            {history.loading && shownStart !== null ? ' · loading…' : ''}
          </p>
          {history.error && <p className="map-error">Could not load that time: {history.error}</p>}
          {range ? (
            <>
              <div className="map-time-slider">
                <button
                  type="button"
                  aria-label="5 minutes earlier"
                  disabled={current === null || current <= range.firstStart}
                  onClick={() => current !== null && go(stepWindow(current, -1, range))}
                >
                  ‹
                </button>
                <input
                  type="range"
                  aria-label="Time of the shown window"
                  min={0}
                  max={windowCount(range) - 1}
                  step={1}
                  value={current === null ? windowCount(range) - 1 : Math.round((current - range.firstStart) / WINDOW_MS)}
                  aria-valuetext={current === null ? undefined : formatWindow(current)}
                  onChange={(e) => go(range.firstStart + Number(e.target.value) * WINDOW_MS)}
                />
                <button
                  type="button"
                  aria-label="5 minutes later"
                  disabled={current === null || current >= range.lastStart}
                  onClick={() => current !== null && go(stepWindow(current, 1, range))}
                >
                  ›
                </button>
              </div>
              <form
                className="map-time-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  const ms = fromUtcInputValue(typed);
                  if (ms === null) {
                    setTypedError('Enter a date and time');
                    return;
                  }
                  setTypedError(null);
                  go(ms);
                }}
              >
                <label htmlFor="map-time-input">At (UTC)</label>
                <input
                  id="map-time-input"
                  className="field-input"
                  type="datetime-local"
                  value={typed}
                  min={toUtcInputValue(range.firstStart)}
                  max={toUtcInputValue(range.lastStart + WINDOW_MS - 60_000)}
                  onChange={(e) => setTyped(e.target.value)}
                />
                <button type="submit">Go</button>
              </form>
              {typedError && <p className="map-error">{typedError}</p>}
              <p className="map-note">
                Stored: {formatWindow(range.firstStart).slice(0, 16)} to {formatWindow(range.lastStart)}. Live updates
                are paused while you look back.
              </p>
            </>
          ) : (
            !history.loading && !history.error && <p className="map-note">No closed 5-minute window is stored yet.</p>
          )}
        </>
      )}
    </section>
  );
}
