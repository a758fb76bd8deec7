// Loads something when mounted, again on `reload()` and, with `intervalMs`, on a
// timer; keeps the last good answer when a refresh fails.
import { useCallback, useEffect, useState } from 'react';
import { describeError, isAbort } from '../../api';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
  /** Replaces the data with an answer obtained elsewhere (e.g. a POST's response). */
  set: (data: T) => void;
}

/** `load` must be stable (a module function or a useCallback). */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [kick, setKick] = useState(0);
  const reload = useCallback(() => setKick((n) => n + 1), []);
  const set = useCallback((data: T) => setState({ data, error: null, loading: false }), []);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      load(controller.signal)
        .then(
          (data) => setState({ data, error: null, loading: false }),
          (error: unknown) => {
            if (!isAbort(error)) setState((s) => ({ ...s, error: describeError(error), loading: false }));
          },
        )
        .finally(() => {
          if (intervalMs && !controller.signal.aborted) timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [load, intervalMs, kick]);

  return { ...state, reload, set };
}
