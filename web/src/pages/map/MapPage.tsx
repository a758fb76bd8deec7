// The full-screen traffic map with the segment detail side panel.
import { useCallback, useMemo, useState } from 'react';
import { useLive } from '../../live/LiveProvider';
import { buildSegmentLayerData } from '../../map/geojson';
import { TrafficMap } from '../../map/TrafficMap';
import { SegmentPanel } from '../../panel/SegmentPanel';

export default function MapPage() {
  const { store, network } = useLive();
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const segments = network.state === 'ready' ? network.segments : null;
  const layerData = useMemo(() => (segments ? buildSegmentLayerData(segments) : null), [segments]);
  const selected = selectedId && network.state === 'ready' ? network.byId.get(selectedId) : undefined;
  const closePanel = useCallback(() => setSelectedId(null), []);

  return (
    <div className="map-page">
      {layerData && <TrafficMap layerData={layerData} store={store} selectedId={selectedId} onSelect={setSelectedId} />}
      {network.state === 'loading' && <div className="page-message">Loading road network…</div>}
      {selected && <SegmentPanel key={selected.segment_id} segment={selected} store={store} onClose={closePanel} />}
    </div>
  );
}
