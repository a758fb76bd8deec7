// One segment in depth: what it is, how fast it flows now, its recent speed and
// volume against the forecasts once made for them and the current forecast fan,
// its statistics, its alerts and its neighbours on the road graph.
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { Link, useParams } from 'react-router';
import { BAND_COLORS, BAND_LABELS, speedBand, type BandThresholds } from '../../bands';
import { convertSpeed, formatDateTimeUtc, formatSpeed, formatSpeedRange, formatTimeUtc, speedUnitLabel, type SpeedUnit } from '../../format';
import { fillNote, fillOf, fillSummary, inputFillNote, latestWindow } from '../../fill';
import { useLive } from '../../live/LiveProvider';
import type { LiveStore } from '../../liveStore';
import { usePreferences } from '../../preferences';
import { FactList } from '../../panel/FactList';
import type { Segment } from '../../types';
import { mainHorizons } from '../overview/model';
import { formatCount, formatFixed } from '../overview/numbers';
import type { SegmentDetailResponse } from './api';
import { SegmentChart } from './SegmentChart';
import { buildSeries } from './series';
import { useSegment, useSegmentData } from './useSegmentData';
import './segment.css';

const RANGES = [3, 12, 24] as const;
const HORIZONS = [15, 30, 45, 60] as const;
const KM_PER_MILE = 1.609344;

function bandLabel(speedMph: number | null | undefined, limits: BandThresholds, unit: SpeedUnit): string {
  const band = speedBand(speedMph, limits);
  if (band === 'nodata') return BAND_LABELS.nodata;
  if (band === 'fast') return `> ${formatSpeed(limits.fastAboveMph, unit)}`;
  if (band === 'slow') return `< ${formatSpeed(limits.slowBelowMph, unit)}`;
  return `${Math.round(convertSpeed(limits.slowBelowMph, unit))}–${formatSpeed(limits.fastAboveMph, unit)}`;
}

function formatLength(miles: number | null, unit: SpeedUnit): string {
  if (miles == null || !Number.isFinite(miles)) return '—';
  return unit === 'kmh' ? `${(miles * KM_PER_MILE).toFixed(2)} km` : `${miles.toFixed(2)} mi`;
}

function ToggleGroup<T extends number>({
  label,
  options,
  value,
  onChange,
  format,
  testId,
}: {
  label: string;
  options: readonly T[];
  value: T;
  onChange: (value: T) => void;
  format: (value: T) => string;
  testId: string;
}) {
  return (
    <div className="segment-toggle" role="group" aria-label={label} data-testid={testId}>
      <span className="segment-toggle-label">{label}</span>
      {options.map((option) => (
        <button
          key={option}
          type="button"
          aria-pressed={option === value}
          className={option === value ? 'segment-toggle-on' : undefined}
          onClick={() => onChange(option)}
        >
          {format(option)}
        </button>
      ))}
    </div>
  );
}

/** Current speeds of a few segments; re-renders only when one of them changes. */
function useSpeeds(store: LiveStore, ids: readonly string[]): ReadonlyMap<string, number | null> {
  const key = useSyncExternalStore(store.subscribe, () =>
    ids.map((id) => store.reading(id)?.speed ?? '').join('|'),
  );
  return useMemo(() => {
    const values = key.split('|');
    return new Map(ids.map((id, i) => [id, values[i] === '' || values[i] === undefined ? null : Number(values[i])]));
  }, [key, ids]);
}

function Neighbours({
  segment,
  byId,
  store,
  unit,
  limits,
}: {
  segment: SegmentDetailResponse;
  byId: ReadonlyMap<string, Segment> | null;
  store: LiveStore;
  unit: SpeedUnit;
  limits: BandThresholds;
}) {
  const ids = useMemo(() => [...segment.upstream, ...segment.downstream], [segment]);
  const speeds = useSpeeds(store, ids);
  const list = (title: string, members: readonly string[], direction: 'upstream' | 'downstream') => (
    <div className="segment-neighbour-group">
      <h4>{title}</h4>
      {members.length === 0 ? (
        <p className="segment-muted">None</p>
      ) : (
        <ul>
          {members.map((id) => {
            const speed = speeds.get(id) ?? null;
            return (
              <li key={id}>
                <Link to={`/segments/${encodeURIComponent(id)}`} data-testid={`neighbour-${direction}`} data-segment-id={id}>
                  {byId?.get(id)?.name || id}
                </Link>
                <span className="segment-neighbour-speed" style={{ color: BAND_COLORS[speedBand(speed, limits)] }}>
                  {formatSpeed(speed, unit)}
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
  return (
    <section className="card segment-card" aria-labelledby="segment-neighbours-title">
      <h3 id="segment-neighbours-title" className="card-title">Neighbours</h3>
      {list('Upstream (traffic comes from)', segment.upstream, 'upstream')}
      {list('Downstream (traffic goes to)', segment.downstream, 'downstream')}
    </section>
  );
}

function SegmentView({ segment, segmentId }: { segment: SegmentDetailResponse; segmentId: string }) {
  const { store, network } = useLive();
  const prefs = usePreferences();
  const unit = prefs.unit;
  const unitLabel = speedUnitLabel(unit);
  const limits = useMemo(
    () => ({ fastAboveMph: prefs.fastAboveMph, slowBelowMph: prefs.slowBelowMph }),
    [prefs.fastAboveMph, prefs.slowBelowMph],
  );
  const [rangeHours, setRangeHours] = useState<(typeof RANGES)[number]>(3);
  const [horizon, setHorizon] = useState<(typeof HORIZONS)[number]>(15);
  const data = useSegmentData(segmentId, true, rangeHours, horizon);
  const reading = useSyncExternalStore(store.subscribe, () => store.reading(segmentId));
  const byId = network.state === 'ready' ? network.byId : null;

  const { windows, past, fan } = data.chart;
  const series = useMemo(
    () => buildSeries({ windows, past, fan, rangeHours, unit }),
    [windows, past, fan, rangeHours, unit],
  );
  const scale = useMemo(
    () => ({
      unitLabel,
      fastAbove: convertSpeed(prefs.fastAboveMph, unit),
      slowBelow: convertSpeed(prefs.slowBelowMph, unit),
      horizonMinutes: horizon,
    }),
    [unitLabel, prefs.fastAboveMph, prefs.slowBelowMph, unit, horizon],
  );

  useEffect(() => {
    const previous = document.title;
    document.title = `${segment.name || segmentId} · trafficcast`;
    return () => {
      document.title = previous;
    };
  }, [segment.name, segmentId]);

  const speed = reading?.speed ?? null;
  const band = speedBand(speed, limits);
  const row = data.summary.data?.by_segment.find((r) => r.segment_id === segmentId) ?? null;
  const horizons = data.accuracy.data ? mainHorizons(data.accuracy.data.by_horizon) : [];
  const alerts = data.alerts.data ?? [];
  const chartEmpty = series.x.length === 0;
  // The header's speed is the last raw reading; a silent detector's newest window says what it is now.
  const latest = latestWindow(windows);
  const latestNote = latest ? fillNote(fillOf(latest)) : null;
  const fanInput = fan[0]?.input_fill ?? null;
  const fanNote = inputFillNote(fanInput);

  return (
    <div className="segment-page" data-testid="segment-page" data-segment-id={segmentId}>
      <header className="segment-header">
        <div className="segment-title">
          <nav className="segment-crumbs" aria-label="Breadcrumb">
            <Link to="/map">Map</Link> <span aria-hidden="true">/</span> Segment
          </nav>
          <h2 data-testid="segment-name">{segment.name || segmentId}</h2>
          <div className="segment-subtitle">
            <span className="segment-id" data-testid="segment-id">
              {segmentId}
            </span>
            <span>
              {segment.road || '—'} {segment.direction || ''}
            </span>
          </div>
        </div>
        <div className="segment-now" data-testid="segment-speed" data-value={speed ?? ''}>
          <span className="segment-now-speed" style={{ color: BAND_COLORS[band] }}>
            {speed == null || !Number.isFinite(speed) ? '—' : Math.round(convertSpeed(speed, unit))}
            <span className="figure-unit">{unitLabel}</span>
          </span>
          <span className="segment-now-meta">
            <span className="band-pill segment-band" style={{ borderColor: BAND_COLORS[band], color: BAND_COLORS[band] }}>
              {bandLabel(speed, limits, unit)}
            </span>
            <span>LOS {reading?.level_of_service ?? '—'}</span>
            <span>{reading ? `at ${formatDateTimeUtc(reading.timestamp)}` : 'no reading yet'}</span>
            {latest && latestNote && (
              <span className="segment-fill-note" data-testid="segment-latest-fill" data-fill={fillOf(latest)}>
                Latest 5-min window ({formatTimeUtc(latest.window_end)} UTC): {latestNote}
                {latest.mean_speed != null ? `, ${formatSpeed(latest.mean_speed, unit)}` : ''}
              </span>
            )}
          </span>
        </div>
        <FactList
          className="segment-facts"
          facts={[
            ['Road', segment.road || '—'],
            ['Direction', segment.direction || '—'],
            ['Lanes', segment.lanes ?? '—'],
            ['Length', formatLength(segment.length_miles, unit)],
            ['Free flow', formatSpeed(segment.free_flow_speed, unit)],
          ]}
        />
      </header>

      <div className="segment-body">
        <section className="card segment-card segment-chart-card" aria-labelledby="segment-chart-title">
          <div className="segment-toolbar">
            <h3 id="segment-chart-title" className="card-title">Speed and volume, 5-minute windows</h3>
            <ToggleGroup
              label="Range"
              testId="range-selector"
              options={RANGES}
              value={rangeHours}
              onChange={setRangeHours}
              format={(h) => `${h} h`}
            />
            <ToggleGroup
              label="Past forecasts"
              testId="horizon-selector"
              options={HORIZONS}
              value={horizon}
              onChange={setHorizon}
              format={(h) => `+${h} min`}
            />
          </div>
          <div className="chart-box">
            <SegmentChart data={series} scale={scale} />
            {chartEmpty && (
              <div className="chart-overlay segment-chart-overlay">
                {data.chart.loadingHistory ? 'Loading…' : 'No data for this segment in this range yet'}
              </div>
            )}
          </div>
          <p className="segment-muted" aria-live="polite">
            {data.chart.loadingPast ? 'Loading past forecasts… ' : ''}
            Blue: observed. Orange dashed: what was forecast {horizon} min before each time. Purple: the current forecast
            with its 80 % band{fan[0] ? `, issued ${formatTimeUtc(fan[0].issued_at)} UTC by ${fan[0].model_version}` : ''}
            {fanNote ? ` ${fanNote}` : ''}. Teal dashed with hollow points over a shaded band: imputed (neighbours/profile),
            not measured. Gaps: no data.
          </p>
          {!chartEmpty && (
            <p
              className={`segment-fill-summary${series.fill.imputed + series.fill.missing > 0 ? ' segment-fill-some' : ''}`}
              data-testid="segment-fill-summary"
              data-total={series.fill.total}
              data-imputed={series.fill.imputed}
              data-missing={series.fill.missing}
            >
              {fillSummary(series.fill)}
            </p>
          )}
          {data.chart.error && <p className="segment-error">Could not load the {data.chart.error}</p>}
        </section>

        <div className="segment-side">
          <section className="card segment-card" aria-labelledby="segment-stats-title" data-testid="segment-stats">
            <h3 id="segment-stats-title" className="card-title">Last 24 hours</h3>
            {data.summary.data ? (
              <>
                <dl
                  className="segment-stats fact-list"
                  data-start={data.statsRange ? new Date(data.statsRange.startMs).toISOString() : ''}
                  data-end={data.statsRange ? new Date(data.statsRange.endMs).toISOString() : ''}
                >
                  <div data-testid="stat-avg_speed" data-value={row?.avg_speed ?? ''}>
                    <dt>Mean speed</dt>
                    <dd>{formatSpeed(row?.avg_speed, unit)}</dd>
                  </div>
                  <div data-testid="stat-avg_volume" data-value={row?.avg_volume ?? ''}>
                    <dt>Mean volume</dt>
                    <dd>{row?.avg_volume == null ? '—' : `${formatFixed(row.avg_volume, 1)} veh / 5 min`}</dd>
                  </div>
                  <div data-testid="stat-congestion_hours" data-value={row?.congestion_hours ?? 0}>
                    <dt>Congested (LOS E–F)</dt>
                    <dd>{formatFixed(row?.congestion_hours ?? 0, 2)} h</dd>
                  </div>
                  <div data-testid="stat-incidents" data-value={row?.incidents ?? 0}>
                    <dt>Incidents</dt>
                    <dd>{formatCount(row?.incidents ?? 0)}</dd>
                  </div>
                  <div data-testid="stat-traffic_score" data-value={row?.traffic_score ?? ''}>
                    <dt>Traffic score</dt>
                    <dd>{row?.traffic_score == null ? '—' : `${formatFixed(row.traffic_score, 0)} / 100`}</dd>
                  </div>
                  <div data-testid="stat-total_events" data-value={row?.total_events ?? 0}>
                    <dt>Readings</dt>
                    <dd>{formatCount(row?.total_events ?? 0)}</dd>
                  </div>
                </dl>
                {!row && <p className="segment-muted">No windows closed for this segment in the last 24 h.</p>}
              </>
            ) : (
              <p className="segment-muted">{data.summary.error ?? 'Loading…'}</p>
            )}
            <h4>Forecast error (MAE, last 24 h)</h4>
            {data.accuracy.data ? (
              horizons.length > 0 ? (
                <table className="data-table data-table-compact" data-testid="segment-accuracy">
                  <tbody>
                    {horizons.map((h) => (
                      <tr key={h.horizon_minutes} data-testid={`segment-mae-${h.horizon_minutes}`} data-mae={h.speed_mae ?? ''}>
                        <th scope="row">+{h.horizon_minutes} min</th>
                        <td>
                          {h.speed_mae == null ? '—' : `${formatFixed(convertSpeed(h.speed_mae, unit), 2)} ${unitLabel}`}
                        </td>
                        <td className="segment-muted">{formatCount(h.n)} scored</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="segment-muted">No forecast for this segment has been scored yet.</p>
              )
            ) : (
              <p className="segment-muted">{data.accuracy.error ?? 'Loading…'}</p>
            )}
          </section>

          <Neighbours segment={segment} byId={byId} store={store} unit={unit} limits={limits} />
        </div>

        <section className="card segment-card segment-forecast-card" aria-labelledby="segment-forecast-title">
          <h3 id="segment-forecast-title" className="card-title">Current forecast</h3>
          {fan.length > 0 ? (
            <table className="data-table data-table-compact" data-testid="segment-fan">
              <thead>
                <tr>
                  <th scope="col">Horizon</th>
                  <th scope="col">At (UTC)</th>
                  <th scope="col">Speed</th>
                  <th scope="col">80 % band</th>
                  <th scope="col">Volume</th>
                </tr>
              </thead>
              <tbody>
                {fan.map((p) => (
                  <tr key={`${p.horizon_minutes}-${p.model_version}`}>
                    <td>+{p.horizon_minutes} min</td>
                    <td>{formatTimeUtc(p.target_time)}</td>
                    <td style={{ color: BAND_COLORS[speedBand(p.predicted_speed, limits)] }}>
                      {formatSpeed(p.predicted_speed, unit)}
                    </td>
                    <td>{formatSpeedRange(p.speed_lower, p.speed_upper, unit)}</td>
                    <td>{p.predicted_volume == null ? '—' : formatFixed(p.predicted_volume, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="segment-muted">No forecast issued for this segment yet.</p>
          )}
          {fan.length > 0 && (
            <p
              className={fanNote ? 'segment-fill-note' : 'segment-muted'}
              data-testid="segment-fan-input"
              data-input-fill={fanInput ?? ''}
            >
              {fanNote
                ? `Made ${fanNote}: the detector was silent when it was issued.`
                : fanInput === 'observed'
                  ? 'Made from a measured window.'
                  : 'Input not recorded for this forecast.'}
            </p>
          )}
        </section>

        <section className="card segment-card segment-alerts-card" aria-labelledby="segment-alerts-title" data-testid="segment-alerts">
          <h3 id="segment-alerts-title" className="card-title">
            Alerts <Link to="/alerts">all alerts →</Link>
          </h3>
          {data.alerts.data ? (
            alerts.length > 0 ? (
              <table className="data-table data-table-compact">
                <thead>
                  <tr>
                    <th scope="col">Severity</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Opened (UTC)</th>
                    <th scope="col">Resolved</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {alerts.slice(0, 50).map((a) => (
                    <tr key={a.alert_id} data-testid="segment-alert" data-state={a.state}>
                      <td>
                        <span className={`pill severity severity-${a.severity}`}>{a.severity}</span>
                      </td>
                      <td>{a.alert_type.replaceAll('_', ' ')}</td>
                      <td>{a.state}</td>
                      <td>{formatDateTimeUtc(a.opened_at)}</td>
                      <td>{a.resolved_at ? formatTimeUtc(a.resolved_at) : '—'}</td>
                      <td className="segment-alert-message">{a.message ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="segment-muted">No alerts for this segment.</p>
            )
          ) : (
            <p className="segment-muted">{data.alerts.error ?? 'Loading…'}</p>
          )}
        </section>
      </div>
    </div>
  );
}

export default function SegmentPage() {
  const { segmentId = '' } = useParams();
  const load = useSegment(segmentId);
  if (load.state === 'loading') return <div className="page-message">Loading segment…</div>;
  if (load.state === 'notfound') {
    return (
      <div className="page-message segment-not-found" role="alert" data-testid="segment-not-found">
        <h2>Segment not found</h2>
        <p>
          There is no segment <code>{segmentId}</code> in this road network.
        </p>
        <p>
          <Link to="/map">Find one on the map</Link> · <Link to="/">Overview</Link>
        </p>
      </div>
    );
  }
  if (load.state === 'error') {
    return (
      <div className="page-message page-error" role="alert">
        <p>Could not load segment {segmentId}: {load.message}</p>
        <button type="button" onClick={load.retry}>
          Retry
        </button>
      </div>
    );
  }
  return <SegmentView key={segmentId} segment={load.segment} segmentId={segmentId} />;
}
