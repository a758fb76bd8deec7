// Top bar: product name, navigation, connection state, segment counts by band, data time,
// and the account (who is signed in, Sign out / Sign in).
import { useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { BAND_COLORS, bandLabels, BANDS, type Band } from '../bands';
import { formatDateTimeUtc } from '../format';
import { summarize, type NetworkSummary } from '../liveState';
import type { LiveStore } from '../liveStore';
import { usePreferences } from '../preferences';
import type { ConnectionState } from '../ws';

const CONNECTION_LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
};

export function HeaderBar({
  connection,
  summary,
  labels,
  children,
  account,
}: {
  connection: ConnectionState;
  summary: NetworkSummary;
  labels: Record<Band, string>;
  children?: ReactNode;
  /** The account corner, last in the bar. */
  account?: ReactNode;
}) {
  return (
    <header className="header-bar">
      <h1 className="brand">trafficcast</h1>
      {children}
      <span
        className={`connection connection-${connection}`}
        data-testid="connection-state"
        role="status"
        title="Live updates over the WebSocket; reconnects by itself"
      >
        <span className="connection-dot" aria-hidden="true" />
        {CONNECTION_LABELS[connection]}
      </span>
      <ul className="band-counts" aria-label="Segments by speed band">
        {BANDS.map((band) => (
          <li key={band} title={`Segments ${labels[band]}`} data-band={band}>
            <span className="swatch" style={{ background: BAND_COLORS[band] }} aria-hidden="true" />
            <span className="band-count">{summary.counts[band]}</span>
            <span className="band-label">{labels[band]}</span>
          </li>
        ))}
      </ul>
      <span className="data-time" data-testid="data-time" title="Time of the newest reading">
        {formatDateTimeUtc(summary.latestTime)}
      </span>
      {account}
    </header>
  );
}

/**
 * The header bound to the live store. Only this component re-renders on every
 * store flush, not the whole page.
 */
export function LiveHeaderBar({
  store,
  segmentIds,
  connection,
  children,
  account,
}: {
  store: LiveStore;
  segmentIds: readonly string[];
  connection: ConnectionState;
  children?: ReactNode;
  account?: ReactNode;
}) {
  const version = useSyncExternalStore(store.subscribe, store.getVersion);
  const prefs = usePreferences();
  const { fastAboveMph, slowBelowMph, unit } = prefs;
  const labels = useMemo(() => bandLabels({ fastAboveMph, slowBelowMph }, unit), [fastAboveMph, slowBelowMph, unit]);
  // `version` is the cache key: readings are mutated in place and it changes when they do.
  const summary = useMemo(
    () => summarize(segmentIds, store.readings, { fastAboveMph, slowBelowMph }),
    [segmentIds, store, version, fastAboveMph, slowBelowMph],
  );
  return (
    <HeaderBar connection={connection} summary={summary} labels={labels} account={account}>
      {children}
    </HeaderBar>
  );
}
