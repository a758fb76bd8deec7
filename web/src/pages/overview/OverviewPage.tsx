// The operator's first screen: the network now and its trend, congestion, active
// alerts, live forecast accuracy, system health and throughput. Deliberately
// light: no map and no chart library, so it is on screen fast.
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { BAND_COLORS } from '../../bands';
import { convertSpeed, formatDateTimeUtc, formatSpeed, speedUnitLabel, type SpeedUnit } from '../../format';
import type { LiveStore } from '../../liveStore';
import { useLive, useLiveMessages, useReconnect } from '../../live/LiveProvider';
import { usePreferences, type Preferences } from '../../preferences';
import { describeError, fetchHealth, fetchSystemStats } from '../../api';
import type { AlertRecord } from '../../types';
import { fetchAlertsIn, fetchNetworkAccuracy, fetchSummary } from './api';
import {
  activeAlerts,
  alertFromMessage,
  applyAlert,
  countBySeverity,
  healthComponents,
  hourlyBuckets,
  mainHorizons,
  networkNow,
  statusTone,
  trendPoint,
  type ActiveAlerts,
  type NetworkNow,
  type TrendPoint,
} from './model';
import { formatCount, formatDuration, formatFixed, formatPercent, formatRate } from './numbers';
import { Sparkline } from './Sparkline';
import { usePolling } from './usePolling';
import './overview.css';

// An open overview must stay well inside a standard user's 1 000 requests an hour
// (PRODUCT.md §6): stats 360/h, accuracy and alerts 60/h each, trend 36/h. /health is
// not rate limited.
const STATS_INTERVAL_MS = 10_000;
const HEALTH_INTERVAL_MS = 15_000;
const ACCURACY_INTERVAL_MS = 60_000;
const ALERTS_INTERVAL_MS = 60_000;
const TREND_INTERVAL_MS = 10 * 60_000;
const TREND_HOURS = 6;
const FIVE_MINUTES_MS = 5 * 60_000;

/** The network figures, recomputed at most once a second however fast events arrive. */
function useNetworkNow(store: LiveStore, segmentIds: readonly string[] | null, prefs: Preferences): NetworkNow | null {
  const limits = useMemo(
    () => ({ fastAboveMph: prefs.fastAboveMph, slowBelowMph: prefs.slowBelowMph }),
    [prefs.fastAboveMph, prefs.slowBelowMph],
  );
  const compute = useCallback(
    () => (segmentIds ? networkNow(segmentIds, store.readings, limits) : null),
    [segmentIds, store, limits],
  );
  const [now, setNow] = useState<NetworkNow | null>(compute);
  useEffect(() => {
    setNow(compute());
    let dirty = false;
    const unsubscribe = store.subscribe(() => {
      dirty = true;
    });
    const timer = setInterval(() => {
      if (!dirty) return;
      dirty = false;
      setNow(compute());
    }, 1000);
    return () => {
      unsubscribe();
      clearInterval(timer);
    };
  }, [store, compute]);
  return now;
}

interface AlertsState {
  alerts: ActiveAlerts | null;
  error: string | null;
}

/** Open and acknowledged alerts: fetched, then kept current by live `alert` messages. */
function useActiveAlerts(): AlertsState {
  const [state, setState] = useState<AlertsState>({ alerts: null, error: null });
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  useReconnect(reload);

  // Messages that arrive while a fetch is in flight are applied again over its answer.
  const pending = useRef<AlertRecord[]>([]);
  const onAlert = useCallback((message: { data: Record<string, unknown> }) => {
    const row = alertFromMessage(message.data);
    if (!row) return;
    pending.current.push(row);
    setState((s) => (s.alerts ? { ...s, alerts: applyAlert(s.alerts, row) } : s));
  }, []);
  useLiveMessages('alert', onAlert);

  useEffect(() => {
    const controller = new AbortController();
    pending.current = [];
    Promise.all([fetchAlertsIn('open', controller.signal), fetchAlertsIn('acknowledged', controller.signal)]).then(
      ([open, acknowledged]) => {
        let alerts = activeAlerts([...open.alerts, ...acknowledged.alerts]);
        for (const row of pending.current) alerts = applyAlert(alerts, row);
        pending.current = [];
        setState({ alerts, error: null });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((s) => ({ ...s, error: describeError(error) }));
      },
    );
    // Acknowledgements made elsewhere also arrive live; the refresh is a safety net.
    const timer = setTimeout(reload, ALERTS_INTERVAL_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [attempt, reload]);
  return state;
}

function Card({
  title,
  to,
  linkLabel,
  className = '',
  testId,
  children,
}: {
  title: string;
  to?: string;
  linkLabel?: string;
  className?: string;
  testId?: string;
  children: ReactNode;
}) {
  return (
    <section className={`card card-stack overview-card ${className}`} aria-label={title} data-testid={testId}>
      <header className="overview-card-header">
        <h2 className="card-title">{title}</h2>
        {to && (
          <Link to={to} className="overview-card-link">
            {linkLabel ?? 'Open'} →
          </Link>
        )}
      </header>
      {children}
    </section>
  );
}

function Muted({ children }: { children: ReactNode }) {
  return <p className="overview-muted">{children}</p>;
}

function speedIn(unit: SpeedUnit, mph: number | null): number | null {
  return mph == null ? null : convertSpeed(mph, unit);
}

function TrendLine({
  points,
  pick,
  label,
  format,
}: {
  points: TrendPoint[] | null;
  pick: (p: TrendPoint) => number | null;
  label: string;
  format: (v: number | null) => string;
}) {
  if (!points) return <Muted>Loading the trend…</Muted>;
  const values = points.map(pick);
  const last = [...values].reverse().find((v) => v != null) ?? null;
  return (
    <div className="overview-trend">
      <Sparkline values={values} label={`${label}: ${values.map(format).join(', ')}`} />
      <span className="overview-trend-caption">
        {TREND_HOURS} h, hourly · last {format(last)}
      </span>
    </div>
  );
}

export default function OverviewPage() {
  const { store, network } = useLive();
  const prefs = usePreferences();
  const unit = prefs.unit;
  const segmentIds = useMemo(
    () => (network.state === 'ready' ? network.segments.map((s) => s.segment_id) : null),
    [network],
  );
  const now = useNetworkNow(store, segmentIds, prefs);

  const stats = usePolling(fetchSystemStats, STATS_INTERVAL_MS);
  const health = usePolling(fetchHealth, HEALTH_INTERVAL_MS);
  const accuracy = usePolling(fetchNetworkAccuracy, ACCURACY_INTERVAL_MS);
  const alerts = useActiveAlerts();
  useReconnect(stats.refresh);
  useReconnect(health.refresh);

  // The trend follows the data clock in 5-minute steps (a replay runs in its own time).
  const clockStep = now?.latestMs != null ? Math.ceil(now.latestMs / FIVE_MINUTES_MS) : null;
  const loadTrend = useMemo(() => {
    if (clockStep === null) return null;
    const buckets = hourlyBuckets(clockStep * FIVE_MINUTES_MS, TREND_HOURS);
    return (signal: AbortSignal) =>
      Promise.all(
        buckets.map((b) =>
          fetchSummary(new Date(b.startMs).toISOString(), new Date(b.endMs).toISOString(), signal).then((s) =>
            trendPoint(b, s),
          ),
        ),
      );
  }, [clockStep]);
  const trend = usePolling(loadTrend, TREND_INTERVAL_MS);

  if (network.state === 'loading') return <div className="page-message">Loading the network…</div>;
  if (network.state === 'error' || !now) return null; // the layout shows the error and a retry

  const severities = alerts.alerts ? countBySeverity(alerts.alerts) : [];
  const activeTotal = alerts.alerts?.size ?? 0;
  const horizons = accuracy.data ? mainHorizons(accuracy.data.by_horizon) : [];
  const components = health.data ? healthComponents(health.data.checks) : [];
  const congestedShare = now.withSpeed > 0 ? now.congested / now.withSpeed : null;
  const unitLabel = speedUnitLabel(unit);

  return (
    <div className="overview-page" data-testid="overview-ready">
      <div className="overview-grid">
        <Card title="Network speed" testId="card-speed">
          <div className="overview-figure" data-testid="overview-mean-speed" data-value={now.meanSpeedMph ?? ''}>
            {formatSpeed(now.meanSpeedMph, unit)}
          </div>
          <Muted>
            Mean of the latest reading of {formatCount(now.withSpeed)} of {formatCount(now.segments)} segments
          </Muted>
          <TrendLine
            points={trend.data}
            pick={(p) => speedIn(unit, p.speedMph)}
            label={`Mean speed per hour, ${unitLabel}`}
            format={(v) => (v == null ? '—' : `${Math.round(v)} ${unitLabel}`)}
          />
          {trend.error && <p className="overview-error">Trend: {trend.error}</p>}
        </Card>

        <Card title="Network volume" testId="card-volume">
          <div className="overview-figure" data-testid="overview-total-volume" data-value={now.totalVolume ?? ''}>
            {formatCount(now.totalVolume)}
            <span className="figure-unit overview-unit">vehicles</span>
          </div>
          <Muted>In the latest reading of {formatCount(now.withVolume)} segments</Muted>
          <TrendLine
            points={trend.data}
            pick={(p) => p.volumePer5Min}
            label="Network vehicles per 5 minutes, hourly"
            format={(v) => (v == null ? '—' : `${formatCount(v)} veh / 5 min`)}
          />
        </Card>

        <Card title="Congested segments" to="/map" linkLabel="Map" testId="card-congested">
          <div
            className="overview-figure"
            data-testid="overview-congested"
            data-value={now.congested}
            style={{ color: now.congested > 0 ? BAND_COLORS.slow : undefined }}
          >
            {formatCount(now.congested)}
          </div>
          <Muted>
            below {formatSpeed(prefs.slowBelowMph, unit)} now · {formatPercent(congestedShare)} of segments with data
          </Muted>
        </Card>

        <Card title="Throughput" testId="card-throughput">
          {stats.data ? (
            <>
              <div className="overview-figure" data-testid="events-per-second" data-value={stats.data.events_per_second}>
                {formatRate(stats.data.events_per_second)}
                <span className="figure-unit overview-unit">events/s</span>
              </div>
              <div className="overview-trend">
                <Sparkline
                  values={stats.data.history.map((p) => p.events_per_second)}
                  fromZero
                  label={`Events per second, every 10 s over the last 15 minutes`}
                />
                <span className="overview-trend-caption">last 15 min, every 10 s</span>
              </div>
              <Muted>
                {formatCount(stats.data.events_total)} events
                {stats.data.windows_total != null && <> · {formatCount(stats.data.windows_total)} windows</>}
                {stats.data.predictions_total != null && <> · {formatCount(stats.data.predictions_total)} forecasts</>}
                {stats.data.late_events_total != null && <> · {formatCount(stats.data.late_events_total)} late</>}
              </Muted>
              <Muted>
                {stats.data.websocket_clients} live {stats.data.websocket_clients === 1 ? 'client' : 'clients'} · up{' '}
                {formatDuration(stats.data.uptime_seconds)}
                {stats.data.role === 'api' && ' · this API process only'}
              </Muted>
            </>
          ) : (
            <Muted>{stats.error ?? 'Loading…'}</Muted>
          )}
          {stats.data && stats.error && <p className="overview-error">{stats.error}</p>}
        </Card>

        <Card title="Active alerts" to="/alerts" linkLabel="Alerts" testId="card-alerts">
          {alerts.alerts ? (
            <>
              <div className="overview-figure" data-testid="alerts-total" data-value={activeTotal}>
                {formatCount(activeTotal)}
              </div>
              {severities.length > 0 ? (
                <table className="data-table data-table-compact overview-table">
                  <thead>
                    <tr>
                      <th scope="col">Severity</th>
                      <th scope="col">Open</th>
                      <th scope="col">Acknowledged</th>
                    </tr>
                  </thead>
                  <tbody>
                    {severities.map((s) => (
                      <tr
                        key={s.severity}
                        data-testid={`alerts-severity-${s.severity}`}
                        data-open={s.open}
                        data-acknowledged={s.acknowledged}
                      >
                        <th scope="row">
                          <span className={`pill severity overview-severity severity-${s.severity}`}>{s.severity}</span>
                        </th>
                        <td>{formatCount(s.open)}</td>
                        <td>{formatCount(s.acknowledged)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <Muted>No open or acknowledged alerts</Muted>
              )}
            </>
          ) : (
            <Muted>{alerts.error ?? 'Loading…'}</Muted>
          )}
        </Card>

        <Card title="Forecast accuracy" to="/predictions" linkLabel="Predictions" testId="card-accuracy">
          {accuracy.data ? (
            horizons.length > 0 ? (
              <>
                <table className="data-table data-table-compact overview-table">
                  <thead>
                    <tr>
                      <th scope="col">Horizon</th>
                      <th scope="col">MAE</th>
                      <th scope="col">In 80 % band</th>
                      <th scope="col">Scored</th>
                    </tr>
                  </thead>
                  <tbody>
                    {horizons.map((h) => (
                      <tr
                        key={h.horizon_minutes}
                        data-testid={`accuracy-${h.horizon_minutes}`}
                        data-mae={h.speed_mae ?? ''}
                        data-n={h.n}
                      >
                        <th scope="row">+{h.horizon_minutes} min</th>
                        <td>
                          {h.speed_mae == null ? '—' : `${formatFixed(convertSpeed(h.speed_mae, unit), 2)} ${unitLabel}`}
                        </td>
                        <td>{formatPercent(h.speed_coverage)}</td>
                        <td>{formatCount(h.n)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Muted>
                  Forecasts scored against what happened, {formatDateTimeUtc(accuracy.data.start_time)} –{' '}
                  {formatDateTimeUtc(accuracy.data.end_time)}
                </Muted>
              </>
            ) : (
              <Muted>No forecast has been scored yet (a forecast is scored once its target time has passed).</Muted>
            )
          ) : (
            <Muted>{accuracy.error ?? 'Loading…'}</Muted>
          )}
        </Card>

        <Card title="System status" testId="card-health" className="overview-card-health">
          {health.data ? (
            <>
              <div
                className={`overview-status overview-tone-${statusTone(health.data.status)}`}
                data-testid="health-overall"
                data-status={health.data.status}
              >
                <span className="overview-dot" aria-hidden="true" />
                {health.data.status}
                <span className="overview-version">v{health.data.version}</span>
              </div>
              <ul className="overview-components">
                {components.map((c) => (
                  <li key={c.key} data-testid={`health-${c.key}`} data-status={c.status}>
                    <span className={`overview-dot overview-tone-${c.tone}`} aria-hidden="true" />
                    <span className="overview-component-name">{c.label}</span>
                    <span className={`overview-component-status overview-tone-${c.tone}`}>{c.status}</span>
                    {c.detail && (
                      <span className="overview-component-detail" title={c.detail}>
                        {c.detail}
                      </span>
                    )}
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <Muted>{health.error ?? 'Loading…'}</Muted>
          )}
          {health.data && health.error && <p className="overview-error">{health.error}</p>}
        </Card>
      </div>
    </div>
  );
}
