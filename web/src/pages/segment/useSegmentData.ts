// Loads what the segment page shows and keeps it live. The segment itself is
// loaded first: an unknown id then costs one 404, not one per panel.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, describeError, fetchHistory, fetchLatestPredictions, isAbort } from '../../api';
import { useLiveMessages, useReconnect } from '../../live/LiveProvider';
import { latestForecasts, mergePredictionBatch, mergeWindow } from '../../panel/detail';
import type { AccuracyResponse, AlertRecord, AnalyticsSummary, Prediction, PredictionBatch, TrafficWindow } from '../../types';
import { alertFromMessage } from '../overview/model';
import {
  fetchPastForecasts,
  fetchSegmentAccuracy,
  fetchSegmentAlerts,
  fetchSegmentDetail,
  fetchSegmentSummary,
  type PastForecast,
  type SegmentDetailResponse,
} from './api';
import { mergePastForecast, trimPast } from './series';

const WINDOW_MINUTES = 5;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const STATS_HOURS = 24;
/** Alerts read when the server cannot filter by segment (the newest of the network). */
const ALERT_LIMIT = 1000;

export type SegmentLoad =
  | { state: 'loading' }
  | { state: 'notfound' }
  | { state: 'error'; message: string; retry: () => void }
  | { state: 'ready'; segment: SegmentDetailResponse };

export function useSegment(segmentId: string): SegmentLoad {
  const [load, setLoad] = useState<SegmentLoad>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoad({ state: 'loading' });
    fetchSegmentDetail(segmentId, controller.signal).then(
      (segment) => setLoad({ state: 'ready', segment }),
      (error: unknown) => {
        if (isAbort(error)) return;
        if (error instanceof ApiError && error.status === 404) setLoad({ state: 'notfound' });
        else setLoad({ state: 'error', message: describeError(error), retry: () => setAttempt((n) => n + 1) });
      },
    );
    return () => controller.abort();
  }, [segmentId, attempt]);
  return load;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

const LOADING = { data: null, error: null, loading: true };

/** One fetch per change of `deps` (and per reconnect), with abort and error state. */
function useFetch<T>(load: ((signal: AbortSignal) => Promise<T>) | null, reload: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(LOADING);
  useEffect(() => {
    if (!load) {
      setState(LOADING);
      return undefined;
    }
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => setState({ data, error: null, loading: false }),
      (error: unknown) => {
        if (!isAbort(error)) setState((s) => ({ ...s, error: describeError(error), loading: false }));
      },
    );
    return () => controller.abort();
  }, [load, reload]);
  return state;
}

export interface ChartState {
  windows: readonly TrafficWindow[];
  past: readonly PastForecast[];
  fan: readonly Prediction[];
  /** End of the newest window when the history was loaded (epoch ms): the page's "now". */
  anchorMs: number | null;
  loadingHistory: boolean;
  loadingPast: boolean;
  error: string | null;
}

export interface SegmentData {
  chart: ChartState;
  alerts: Loaded<AlertRecord[]>;
  summary: Loaded<AnalyticsSummary>;
  accuracy: Loaded<AccuracyResponse>;
  /** The range the statistics cover (epoch ms). */
  statsRange: { startMs: number; endMs: number } | null;
}

/** Mount it under `key={segmentId}`: its state belongs to one segment. */
export function useSegmentData(segmentId: string, enabled: boolean, rangeHours: number, horizon: number): SegmentData {
  const [reload, setReload] = useState(0);
  useReconnect(useCallback(() => setReload((n) => n + 1), []));
  const windowLimit = rangeHours * (60 / WINDOW_MINUTES);

  const [windows, setWindows] = useState<readonly TrafficWindow[]>([]);
  const [past, setPast] = useState<readonly PastForecast[]>([]);
  const [fan, setFan] = useState<readonly Prediction[]>([]);
  const [anchorMs, setAnchorMs] = useState<number | null>(null);
  const [loadingHistory, setLoadingHistory] = useState(true);
  const [loadingPast, setLoadingPast] = useState(true);
  const [error, setError] = useState<string | null>(null);

  // History of the chosen range; windows pushed meanwhile are merged over it.
  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    setLoadingHistory(true);
    fetchHistory(segmentId, { limit: windowLimit, signal: controller.signal }).then(
      (response) => {
        const fetched = response.windows.reduce<readonly TrafficWindow[]>(
          (merged, w) => mergeWindow(merged, w, WINDOW_MINUTES, windowLimit),
          [],
        );
        setWindows((current) =>
          current.reduce((merged, w) => mergeWindow(merged, w, WINDOW_MINUTES, windowLimit), fetched),
        );
        const newest = fetched.at(-1);
        setAnchorMs(newest ? Date.parse(newest.window_end) : Date.now());
        setLoadingHistory(false);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        setError(`history: ${describeError(e)}`);
        setLoadingHistory(false);
      },
    );
    return () => controller.abort();
  }, [segmentId, enabled, windowLimit, reload]);

  // Forecasts once made for the range at the chosen horizon, up to those still in flight.
  useEffect(() => {
    if (!enabled || anchorMs === null) return undefined;
    const controller = new AbortController();
    setLoadingPast(true);
    const start = anchorMs - rangeHours * HOUR_MS;
    const end = anchorMs + (horizon + WINDOW_MINUTES) * MINUTE_MS;
    fetchPastForecasts(segmentId, horizon, start, end, controller.signal).then(
      (response) => {
        setPast(response.forecasts);
        setLoadingPast(false);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        setError(`past forecasts: ${describeError(e)}`);
        setLoadingPast(false);
      },
    );
    return () => controller.abort();
  }, [segmentId, enabled, anchorMs, rangeHours, horizon]);

  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    fetchLatestPredictions(segmentId, controller.signal).then(
      (response) => setFan((current) => latestForecasts([...response.predictions, ...current])),
      (e: unknown) => {
        // 404: no forecast issued yet for a segment the server knows; the fan stays empty.
        if (!isAbort(e) && !(e instanceof ApiError && e.status === 404)) setError(`forecast: ${describeError(e)}`);
      },
    );
    return () => controller.abort();
  }, [segmentId, enabled, reload]);

  const horizonRef = useRef(horizon);
  horizonRef.current = horizon;
  const rangeRef = useRef({ limit: windowLimit, hours: rangeHours });
  rangeRef.current = { limit: windowLimit, hours: rangeHours };

  useLiveMessages(
    'window',
    useCallback(
      (message: { segment_id: string; data: TrafficWindow }) => {
        if (message.segment_id !== segmentId || message.data.window_minutes !== WINDOW_MINUTES) return;
        setWindows((current) => mergeWindow(current, message.data, WINDOW_MINUTES, rangeRef.current.limit));
      },
      [segmentId],
    ),
  );
  useLiveMessages(
    'prediction',
    useCallback(
      (message: { segment_id: string; data: PredictionBatch }) => {
        if (message.segment_id !== segmentId) return;
        const batch = message.data;
        setFan((current) => mergePredictionBatch(current, batch));
        setPast((current) => {
          const merged = mergePastForecast(current, batch, horizonRef.current);
          const since = Date.parse(batch.issued_at) - rangeRef.current.hours * HOUR_MS;
          return trimPast(merged, since);
        });
      },
      [segmentId],
    ),
  );

  // Statistics over the 24 h before the newest window (data time: a replay runs in its own).
  const statsEnd = anchorMs === null ? null : Math.ceil(anchorMs / (WINDOW_MINUTES * MINUTE_MS)) * WINDOW_MINUTES * MINUTE_MS;
  const statsRange = statsEnd === null ? null : { startMs: statsEnd - STATS_HOURS * HOUR_MS, endMs: statsEnd };
  const loadSummary = useCallback(
    (signal: AbortSignal) => fetchSegmentSummary(segmentId, (statsEnd as number) - STATS_HOURS * HOUR_MS, statsEnd as number, signal),
    [segmentId, statsEnd],
  );
  const summary = useFetch(enabled && statsEnd !== null ? loadSummary : null, reload);
  const loadAccuracy = useCallback((signal: AbortSignal) => fetchSegmentAccuracy(segmentId, signal), [segmentId]);
  const accuracy = useFetch(enabled ? loadAccuracy : null, reload);

  const alerts = useSegmentAlerts(segmentId, enabled, reload);

  return {
    chart: { windows, past, fan, anchorMs, loadingHistory, loadingPast, error },
    alerts,
    summary,
    accuracy,
    statsRange,
  };
}

function upsertAlert(list: readonly AlertRecord[], row: AlertRecord): AlertRecord[] {
  const next = list.filter((a) => a.alert_id !== row.alert_id);
  next.push(row);
  return next.sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
}

/** The segment's alerts, newest first, kept current by live `alert` messages. */
function useSegmentAlerts(segmentId: string, enabled: boolean, reload: number): Loaded<AlertRecord[]> {
  const [state, setState] = useState<Loaded<AlertRecord[]>>(LOADING);
  const pushed = useRef<AlertRecord[]>([]);
  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    pushed.current = [];
    setState((s) => ({ ...s, loading: true }));
    fetchSegmentAlerts(segmentId, ALERT_LIMIT, controller.signal).then(
      (response) => {
        let rows = response.alerts.filter((a) => a.segment_id === segmentId);
        for (const row of pushed.current) rows = upsertAlert(rows, row);
        setState({ data: rows, error: null, loading: false });
      },
      (e: unknown) => {
        if (!isAbort(e)) setState((s) => ({ ...s, error: describeError(e), loading: false }));
      },
    );
    return () => controller.abort();
  }, [segmentId, enabled, reload]);
  useLiveMessages(
    'alert',
    useCallback(
      (message: { segment_id: string; data: Record<string, unknown> }) => {
        const row = alertFromMessage(message.data);
        if (!row || row.segment_id !== segmentId) return;
        pushed.current.push(row);
        setState((s) => (s.data ? { ...s, data: upsertAlert(s.data, row) } : s));
      },
      [segmentId],
    ),
  );
  return state;
}
