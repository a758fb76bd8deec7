// The traffic map page: the map with its layer card, search, time control and
// the segment detail side panel.
import './map.css';
import { useCallback, useMemo, useState } from 'react';
import { unmeasuredBySegment } from '../../fill';
import { useLive } from '../../live/LiveProvider';
import { clampHorizon, HORIZON_MIN } from '../../map/forecast';
import { buildSegmentLayerData } from '../../map/geojson';
import { formatWindow } from '../../map/historyTime';
import type { LayerGroup } from '../../map/style';
import { TrafficMap, type MapPadding } from '../../map/TrafficMap';
import { SegmentPanel } from '../../panel/SegmentPanel';
import { usePreferences } from '../../preferences';
import { MapControls } from './MapControls';
import { SegmentSearch } from './SegmentSearch';
import { TimeControl } from './TimeControl';
import { useActiveAlerts } from './useActiveAlerts';
import { useBaseMap } from './useBaseMap';
import { useForecastLayer } from './useForecastLayer';
import { useHistoryLayer, type HistoryRequest } from './useHistoryLayer';

/** Room for the layer card on the left when fitting the network or a segment. */
const PADDING: MapPadding = { top: 48, right: 64, bottom: 48, left: 340 };

export default function MapPage() {
  const { store, network } = useLive();
  const prefs = usePreferences();
  const limits = useMemo(
    () => ({ fastAboveMph: prefs.fastAboveMph, slowBelowMph: prefs.slowBelowMph }),
    [prefs.fastAboveMph, prefs.slowBelowMph],
  );
  const base = useBaseMap();
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [focus, setFocus] = useState<{ segmentId: string; nonce: number } | null>(null);
  const [visible, setVisible] = useState<Record<LayerGroup, boolean>>({ speeds: true, forecast: false, alerts: true });
  const [horizon, setHorizon] = useState(HORIZON_MIN);
  const [timeRequest, setTimeRequest] = useState<HistoryRequest>(null);
  const past = timeRequest !== null;

  const segments = network.state === 'ready' ? network.segments : null;
  const byId = network.state === 'ready' ? network.byId : null;
  const layerData = useMemo(() => (segments ? buildSegmentLayerData(segments) : null), [segments]);
  const forecast = useForecastLayer(visible.forecast && !past, horizon);
  const alerts = useActiveAlerts();
  const history = useHistoryLayer(timeRequest);

  const shownStart = history.response?.window_start ? Date.parse(history.response.window_start) : null;
  const pastLabel = past && shownStart !== null ? formatWindow(shownStart) : null;
  // Until the first past window arrives the map keeps what it shows.
  const pastSpeeds = past ? history.speeds : null;
  const historyResponse = history.response;
  const pastFills = useMemo(
    () => (past && historyResponse ? unmeasuredBySegment(historyResponse.segments) : null),
    [past, historyResponse],
  );

  const selected = selectedId && byId ? byId.get(selectedId) : undefined;
  const closePanel = useCallback(() => setSelectedId(null), []);
  const pick = useCallback((segmentId: string) => {
    setSelectedId(segmentId);
    setFocus({ segmentId, nonce: Date.now() });
  }, []);
  const toggle = useCallback((group: LayerGroup, on: boolean) => setVisible((v) => ({ ...v, [group]: on })), []);

  return (
    <div className={`map-page${selected ? ' map-page-with-panel' : ''}${past ? ' map-page-past' : ''}`}>
      {layerData && byId && base && (
        <TrafficMap
          layerData={layerData}
          byId={byId}
          store={store}
          base={base}
          limits={limits}
          unit={prefs.unit}
          pastSpeeds={pastSpeeds}
          pastFills={pastFills}
          pastLabel={pastLabel}
          visible={{ ...visible, forecast: visible.forecast && !past }}
          forecast={forecast.data}
          horizon={forecast.horizon ?? horizon}
          alerts={alerts.bySegment}
          selectedId={selectedId}
          focus={focus}
          padding={PADDING}
          onSelect={setSelectedId}
        />
      )}
      {network.state === 'loading' && <div className="page-message">Loading road network…</div>}
      {network.state === 'ready' && network.segments.length === 0 && (
        <div className="page-message">No segments yet: the map fills in as soon as data arrives.</div>
      )}
      {segments && (
        <div className="map-side">
          <SegmentSearch segments={segments} onPick={pick} />
          <MapControls
            visible={visible}
            onToggle={toggle}
            horizon={horizon}
            onHorizon={(minutes) => setHorizon(clampHorizon(minutes))}
            forecast={forecast}
            forecastAvailable={!past}
            alertSegments={alerts.bySegment.size}
            alertsError={alerts.error}
            limits={limits}
            unit={prefs.unit}
            pastLabel={pastLabel}
          />
        </div>
      )}
      {segments && (
        <TimeControl
          past={past}
          requested={typeof timeRequest === 'number' ? timeRequest : null}
          history={history}
          onLive={() => setTimeRequest(null)}
          onPast={setTimeRequest}
        />
      )}
      {past && pastLabel && (
        <div className="map-past-banner" role="status">
          Showing {pastLabel} · live updates paused
          <button type="button" onClick={() => setTimeRequest(null)}>
            Back to live
          </button>
        </div>
      )}
      {selected && <SegmentPanel key={selected.segment_id} segment={selected} store={store} onClose={closePanel} />}
    </div>
  );
}
