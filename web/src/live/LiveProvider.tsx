// One live connection for the whole dashboard: loads the road network and the
// current readings once, keeps the WebSocket open across page changes, and hands
// every page the same store, network and connection state.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { fetchCurrentTraffic, fetchSegments } from '../api';
import { LiveStore } from '../liveStore';
import type { CurrentTrafficResponse, Segment, ServerMessage } from '../types';
import { TrafficSocket, trafficSocketUrl, type ConnectionState, type SocketUrl } from '../ws';

export type NetworkLoad =
  | { state: 'loading' }
  | { state: 'error'; message: string; retry: () => void }
  | { state: 'ready'; segments: Segment[]; byId: ReadonlyMap<string, Segment> };

export interface Live {
  store: LiveStore;
  network: NetworkLoad;
  connection: ConnectionState;
}

const LiveContext = createContext<Live | null>(null);

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
      break;
  }
  store.publishMessage(message);
}

/**
 * `socketUrl` gives the WebSocket's URL at each (re)connect (the signed-in app adds
 * a fresh access token); by default the plain /ws/traffic of this origin.
 */
export function LiveProvider({ children, socketUrl }: { children: ReactNode; socketUrl?: SocketUrl }) {
  const [store] = useState(() => new LiveStore());
  const [attempt, setAttempt] = useState(0);
  const [load, setLoad] = useState<NetworkLoad>({ state: 'loading' });
  const [connection, setConnection] = useState<ConnectionState>('connecting');

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ state: 'loading' });
    // Without a snapshot the map starts grey and fills from live events: not worth failing the page for.
    const current = fetchCurrentTraffic(controller.signal).catch((): CurrentTrafficResponse => ({ segments: [] }));
    Promise.all([fetchSegments(controller.signal), current]).then(
      ([network, now]) => {
        store.applySnapshot(now.segments);
        const segments = network.segments;
        setLoad({ state: 'ready', segments, byId: new Map(segments.map((s) => [s.segment_id, s])) });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoad({
          state: 'error',
          message: error instanceof Error ? error.message : String(error),
          retry: () => setAttempt((n) => n + 1),
        });
      },
    );
    return () => controller.abort();
  }, [store, attempt]);

  useEffect(() => {
    const socket = new TrafficSocket({
      url: socketUrl ?? trafficSocketUrl(window.location),
      onMessage: (message) => routeMessage(store, message),
      onStateChange: setConnection,
      // Events sent while we were disconnected are gone: catch up from the snapshot.
      onReconnect: () => {
        fetchCurrentTraffic().then(
          (now) => store.applySnapshot(now.segments),
          () => undefined, // the next event for each segment fixes it anyway
        );
        store.publishReconnect();
      },
    });
    socket.start();
    return () => socket.stop();
  }, [store, socketUrl]);

  const value = useMemo(() => ({ store, network: load, connection }), [store, load, connection]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside <LiveProvider>');
  return live;
}

/** Calls `handler` for every server message of `type` (alerts, windows, forecasts…) while mounted. */
export function useLiveMessages<T extends ServerMessage['type']>(
  type: T,
  handler: (message: Extract<ServerMessage, { type: T }>) => void,
): void {
  const { store } = useLive();
  useEffect(
    () =>
      store.subscribeMessages((message) => {
        if (message.type === type) handler(message as Extract<ServerMessage, { type: T }>);
      }),
    [store, type, handler],
  );
}

/** Calls `handler` after every reconnect, so a page can refetch what it missed. */
export function useReconnect(handler: () => void): void {
  const { store } = useLive();
  useEffect(() => store.subscribeReconnect(handler), [store, handler]);
}
