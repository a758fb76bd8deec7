// Active (open or acknowledged) alerts by segment: fetched once, then kept
// current from live `alert` messages; refetched after a reconnect.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useLiveMessages, useReconnect } from '../../live/LiveProvider';
import { activeAlerts, alertFromMessage, alertsBySegment, mergeAlert, type ActiveAlerts, type SegmentAlerts } from '../../map/alerts';
import type { ServerMessage } from '../../types';
import { describeError, fetchAlerts, isAbort } from '../../api';
import { ALERT_FETCH_LIMIT } from './api';

export interface ActiveAlertsState {
  bySegment: ReadonlyMap<string, SegmentAlerts>;
  loading: boolean;
  error: string | null;
}

export function useActiveAlerts(): ActiveAlertsState {
  const [alerts, setAlerts] = useState<ActiveAlerts>(new Map());
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    fetchAlerts({ limit: String(ALERT_FETCH_LIMIT) }, controller.signal).then(
      (response) => {
        setAlerts(activeAlerts(response.alerts));
        setLoading(false);
        setError(null);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        setLoading(false);
        setError(describeError(e));
      },
    );
    return () => controller.abort();
  }, [reload]);

  const onAlert = useCallback((message: Extract<ServerMessage, { type: 'alert' }>) => {
    const row = alertFromMessage(message.segment_id, message.data);
    if (row) setAlerts((current) => mergeAlert(current, row));
  }, []);
  useLiveMessages('alert', onAlert);
  useReconnect(useCallback(() => setReload((n) => n + 1), []));

  const bySegment = useMemo(() => alertsBySegment(alerts), [alerts]);
  return { bySegment, loading, error };
}
