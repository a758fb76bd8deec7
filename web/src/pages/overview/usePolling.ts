// Loads something now and again every `intervalMs` while mounted; keeps the last
// good answer when a refresh fails, so a blip shows as a note, not an empty card.
import { useCallback, useEffect, useState } from 'react';
import { describeError, isAbort } from '../../api';

export interface Polled<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Loads again now (e.g. after a reconnect). */
  refresh: () => void;
}

/** `load` must be stable (a module function or a useCallback), or every render restarts it. */
export function usePolling<T>(
  load: ((signal: AbortSignal) => Promise<T>) | null,
  intervalMs: number,
): Polled<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: load !== null,
  });
  const [kick, setKick] = useState(0);
  const refresh = useCallback(() => setKick((n) => n + 1), []);

  useEffect(() => {
    if (!load) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      // A hidden tab does not need fresh figures; it catches up when shown.
      if (typeof document !== 'undefined' && document.hidden) {
        timer = setTimeout(tick, intervalMs);
        return;
      }
      load(controller.signal).then(
        (data) => setState({ data, error: null, loading: false }),
        (error: unknown) => {
          if (isAbort(error)) return;
          setState((s) => ({ ...s, error: describeError(error), loading: false }));
        },
      ).finally(() => {
        if (!controller.signal.aborted) timer = setTimeout(tick, intervalMs);
      });
    };
    tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [load, intervalMs, kick]);

  return { ...state, refresh };
}
