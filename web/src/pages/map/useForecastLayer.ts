// The forecast layer's data: fetched when switched on or the horizon moves, and
// refreshed after each forecast issue (debounced: an issue arrives as one
// `prediction` message per segment) and after a reconnect.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useLiveMessages, useReconnect } from '../../live/LiveProvider';
import { Debouncer } from '../../map/debounce';
import { forecastBySegment, type ForecastBySegment } from '../../map/forecast';
import { describeError, isAbort } from '../../api';
import { fetchForecastLayer } from './api';

export interface ForecastLayerState {
  data: ForecastBySegment | null;
  /** The horizon `data` is for (the slider may already be elsewhere). */
  horizon: number | null;
  loading: boolean;
  error: string | null;
  /** Newest issue time among the rows, for the legend. */
  issuedAt: string | null;
}

/** A slider drag changes the horizon many times a second; fetch once it rests. */
const HORIZON_SETTLE_MS = 200;
/** After the last `prediction` message of a burst, and at most this long after its first. */
const ISSUE_QUIET_MS = 1500;
const ISSUE_MAX_WAIT_MS = 5000;

const OFF: ForecastLayerState = { data: null, horizon: null, loading: false, error: null, issuedAt: null };

export function useForecastLayer(enabled: boolean, horizon: number): ForecastLayerState {
  const [state, setState] = useState<ForecastLayerState>(OFF);
  const [reload, setReload] = useState(0);
  const debouncer = useRef<Debouncer | null>(null);

  useEffect(() => {
    const d = new Debouncer(() => setReload((n) => n + 1), ISSUE_QUIET_MS, ISSUE_MAX_WAIT_MS);
    debouncer.current = d;
    return () => d.cancel();
  }, []);

  useEffect(() => {
    if (!enabled) {
      setState(OFF);
      return;
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      fetchForecastLayer(horizon, controller.signal).then(
        (response) => {
          let issuedAt: string | null = null;
          for (const row of response.segments) if (issuedAt === null || row.issued_at > issuedAt) issuedAt = row.issued_at;
          setState({
            data: forecastBySegment(response.segments),
            horizon: response.horizon_minutes,
            loading: false,
            error: null,
            issuedAt,
          });
        },
        (error: unknown) => {
          if (isAbort(error)) return;
          setState((s) => ({ ...s, loading: false, error: describeError(error) }));
        },
      );
    }, HORIZON_SETTLE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [enabled, horizon, reload]);

  const onPrediction = useCallback(() => {
    if (enabled) debouncer.current?.trigger();
  }, [enabled]);
  useLiveMessages('prediction', onPrediction);
  useReconnect(useCallback(() => setReload((n) => n + 1), []));

  return state;
}
