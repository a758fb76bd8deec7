// Page shell: loads the network, keeps the live socket, and lays out the header,
// map and detail panel.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { fetchCurrentTraffic, fetchSegments } from './api';
import { LiveHeaderBar } from './header/HeaderBar';
import { LiveStore } from './liveStore';
import { buildSegmentLayerData } from './map/geojson';
import { TrafficMap } from './map/TrafficMap';
import { SegmentPanel } from './panel/SegmentPanel';
import type { CurrentTrafficResponse, Segment, ServerMessage } from './types';
import { TrafficSocket, trafficSocketUrl, type ConnectionState } from './ws';

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; segments: Segment[] };

function routeMessage(store: LiveStore, message: ServerMessage): void {
  switch (message.type) {
    case 'traffic_event':
      store.applyEvent(message.segment_id, message.data);
      break;
    case 'window':
      store.publishSegmentMessage({ type: 'window', segmentId: message.segment_id, window: message.data });
      break;
    case 'prediction':
      store.publishSegmentMessage({ type: 'prediction', segmentId: message.segment_id, batch: message.data });
      break;
    default:
      // subscribed / alert / error: nothing on this page shows them yet.
      break;
  }
}

export function App() {
  const [store] = useState(() => new LiveStore());
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [selectedId, setSelectedId] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ state: 'loading' });
    // Without a snapshot the map starts grey and fills from live events: not worth failing the page for.
    const current = fetchCurrentTraffic(controller.signal).catch((): CurrentTrafficResponse => ({ segments: [] }));
    Promise.all([fetchSegments(controller.signal), current]).then(
      ([segments, current]) => {
        store.applySnapshot(current.segments);
        setLoad({ state: 'ready', segments: segments.segments });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoad({ state: 'error', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => controller.abort();
  }, [store, attempt]);

  const ready = load.state === 'ready';
  useEffect(() => {
    if (!ready) return;
    const socket = new TrafficSocket({
      url: trafficSocketUrl(window.location),
      onMessage: (message) => routeMessage(store, message),
      onStateChange: setConnection,
      // Events sent while we were disconnected are gone: catch up from the snapshot.
      onReconnect: () => {
        fetchCurrentTraffic().then(
          (current) => store.applySnapshot(current.segments),
          () => undefined, // the next event for each segment fixes it anyway
        );
      },
    });
    socket.start();
    return () => socket.stop();
  }, [ready, store]);

  const segments = load.state === 'ready' ? load.segments : null;
  const layerData = useMemo(() => (segments ? buildSegmentLayerData(segments) : null), [segments]);
  const segmentIds = useMemo(() => segments?.map((s) => s.segment_id) ?? [], [segments]);
  const segmentById = useMemo(() => new Map(segments?.map((s) => [s.segment_id, s])), [segments]);
  const selected = selectedId ? segmentById.get(selectedId) : undefined;
  const closePanel = useCallback(() => setSelectedId(null), []);

  return (
    <div className="app">
      <LiveHeaderBar store={store} segmentIds={segmentIds} connection={connection} />
      <main className="content">
        {layerData && (
          <TrafficMap layerData={layerData} store={store} selectedId={selectedId} onSelect={setSelectedId} />
        )}
        {load.state === 'loading' && <div className="page-message">Loading road network…</div>}
        {load.state === 'error' && (
          <div className="page-message page-error" role="alert">
            <p>Could not load the road network: {load.message}</p>
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Retry
            </button>
          </div>
        )}
        {selected && <SegmentPanel key={selected.segment_id} segment={selected} store={store} onClose={closePanel} />}
      </main>
    </div>
  );
}
