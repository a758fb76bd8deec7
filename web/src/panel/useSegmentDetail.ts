// Loads a segment's recent windows and latest forecast, then keeps them current
// from the WebSocket while the panel is open.
import { useEffect, useState } from 'react';
import { ApiError, describeError, fetchHistory, fetchLatestPredictions, isAbort } from '../api';
import type { LiveStore } from '../liveStore';
import type { Prediction, TrafficWindow } from '../types';
import { DETAIL_WINDOW_LIMIT, DETAIL_WINDOW_MINUTES, latestForecasts, mergePredictionBatch, mergeWindow } from './detail';

export interface SegmentDetail {
  windows: readonly TrafficWindow[];
  forecasts: readonly Prediction[];
  loading: boolean;
  historyError: string | null;
  forecastError: string | null;
}

const EMPTY: SegmentDetail = { windows: [], forecasts: [], loading: true, historyError: null, forecastError: null };

export function useSegmentDetail(segmentId: string, store: LiveStore): SegmentDetail {
  const [detail, setDetail] = useState<SegmentDetail>(EMPTY);

  useEffect(() => {
    setDetail(EMPTY);
    const controller = new AbortController();

    // Subscribe before fetching so nothing pushed during the fetch is lost; what
    // was pushed is merged over the fetched data when it lands.
    const unsubscribe = store.subscribeSegmentMessages((message) => {
      if (message.segmentId !== segmentId) return;
      if (message.type === 'window') {
        setDetail((d) => ({ ...d, windows: mergeWindow(d.windows, message.window) }));
      } else {
        setDetail((d) => ({ ...d, forecasts: mergePredictionBatch(d.forecasts, message.batch) }));
      }
    });

    fetchHistory(segmentId, {
      windowMinutes: DETAIL_WINDOW_MINUTES,
      limit: DETAIL_WINDOW_LIMIT,
      signal: controller.signal,
    }).then(
      (response) =>
        setDetail((d) => ({
          ...d,
          loading: false,
          windows: d.windows.reduce(
            (merged, pushed) => mergeWindow(merged, pushed),
            response.windows.reduce<readonly TrafficWindow[]>((merged, w) => mergeWindow(merged, w), []),
          ),
        })),
      (error: unknown) => {
        if (!isAbort(error)) setDetail((d) => ({ ...d, loading: false, historyError: describeError(error) }));
      },
    );

    fetchLatestPredictions(segmentId, controller.signal).then(
      (response) => setDetail((d) => ({ ...d, forecasts: latestForecasts([...response.predictions, ...d.forecasts]) })),
      (error: unknown) => {
        if (isAbort(error)) return;
        // 404 just means no forecast was issued yet for this segment.
        const message = error instanceof ApiError && error.status === 404 ? null : describeError(error);
        setDetail((d) => ({ ...d, forecastError: message }));
      },
    );

    return () => {
      controller.abort();
      unsubscribe();
    };
  }, [segmentId, store]);

  return detail;
}
