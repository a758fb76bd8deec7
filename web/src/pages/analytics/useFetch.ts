// Loads a path's JSON while mounted: again when the path or `version` changes,
// and every `intervalMs` if given. The last good answer stays on screen during a
// reload (marked `loading`) and after a failed refresh (marked `error`).
import { useEffect, useState } from 'react';
import { describeError, isAbort } from '../../api';

export interface Fetched<T> {
  data: T | null;
  /** The path `data` answers (null before the first answer). */
  path: string | null;
  error: string | null;
  loading: boolean;
}

export function useFetch<T>(
  path: string | null,
  load: (path: string, signal: AbortSignal) => Promise<T>,
  version = 0,
  intervalMs: number | null = null,
): Fetched<T> {
  const [state, setState] = useState<Fetched<T>>({ data: null, path: null, error: null, loading: path !== null });

  useEffect(() => {
    if (path === null) {
      setState((s) => ({ ...s, loading: false }));
      return undefined;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      setState((s) => ({ ...s, loading: true }));
      load(path, controller.signal)
        .then(
          (data) => setState({ data, path, error: null, loading: false }),
          (error: unknown) => {
            if (isAbort(error)) return;
            setState((s) => ({ ...s, error: describeError(error), loading: false }));
          },
        )
        .finally(() => {
          if (intervalMs !== null && !controller.signal.aborted) timer = setTimeout(run, intervalMs);
        });
    };
    run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [path, load, version, intervalMs]);

  return state;
}
