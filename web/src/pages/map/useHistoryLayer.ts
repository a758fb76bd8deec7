// One past 5-minute window of the whole network, for the map's time control.
import { useEffect, useState } from 'react';
import type { HistoryLayerResponse } from '../../map/layerTypes';
import { historyRange, type HistoryRange } from '../../map/historyTime';
import { describeError, isAbort } from '../../api';
import { fetchHistoryLayer } from './api';

/** What to show: null = live (nothing fetched), 'latest' = the newest window, or a time (ms). */
export type HistoryRequest = null | 'latest' | number;

export interface HistoryLayerState {
  /** Mean speed per segment in the shown window. */
  speeds: ReadonlyMap<string, number | null> | null;
  response: HistoryLayerResponse | null;
  /** Window starts the control can reach (kept from the last answer while a new one loads). */
  range: HistoryRange | null;
  loading: boolean;
  error: string | null;
}

const LIVE: HistoryLayerState = { speeds: null, response: null, range: null, loading: false, error: null };
const SETTLE_MS = 150;

export function useHistoryLayer(request: HistoryRequest): HistoryLayerState {
  const [state, setState] = useState<HistoryLayerState>(LIVE);

  useEffect(() => {
    if (request === null) {
      setState(LIVE);
      return;
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      fetchHistoryLayer(request === 'latest' ? null : request, controller.signal).then(
        (response) => {
          const speeds = new Map<string, number | null>();
          for (const row of response.segments) speeds.set(row.segment_id, row.mean_speed);
          setState({
            speeds,
            response,
            range: historyRange(response.earliest, response.latest),
            loading: false,
            error: null,
          });
        },
        (error: unknown) => {
          if (isAbort(error)) return;
          setState((s) => ({ ...s, loading: false, error: describeError(error) }));
        },
      );
    }, SETTLE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [request]);

  return state;
}
