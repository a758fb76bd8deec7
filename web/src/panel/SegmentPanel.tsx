// Side panel with one segment's current state, recent speeds and latest forecast.
import './panel.css';
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { Link } from 'react-router';
import { BAND_COLORS, bandLabels, speedBand } from '../bands';
import { convertSpeed, formatDateTimeUtc, formatSpeed, formatSpeedRange, formatTimeUtc, speedUnitLabel } from '../format';
import { fillNote, fillOf, inputFillNote, latestWindow } from '../fill';
import { usePreferences } from '../preferences';
import type { LiveStore } from '../liveStore';
import type { Segment } from '../types';
import { buildSpeedChartData } from './chartData';
import { FactList } from './FactList';
import { SpeedChart } from './SpeedChart';
import { useSegmentDetail } from './useSegmentDetail';

interface SegmentPanelProps {
  segment: Segment;
  store: LiveStore;
  onClose: () => void;
}

const HISTORY_HOURS = 3;

function formatNumber(value: number | null | undefined, unit: string, digits = 0): string {
  return value == null || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}${unit}`;
}

export function SegmentPanel({ segment, store, onClose }: SegmentPanelProps) {
  const id = segment.segment_id;
  const reading = useSyncExternalStore(store.subscribe, () => store.reading(id));
  const detail = useSegmentDetail(id, store);
  const chartData = useMemo(
    () => buildSpeedChartData(detail.windows, detail.forecasts, { historyHours: HISTORY_HOURS }),
    [detail.windows, detail.forecasts],
  );
  const prefs = usePreferences();
  const { unit } = prefs;
  const band = speedBand(reading?.speed, prefs);
  const labels = bandLabels(prefs, unit);
  // The speed above is the last raw reading; when the detector is silent its newest
  // 5-minute window is filled, and the panel must not let that pass for a measurement.
  const latest = useMemo(() => latestWindow(detail.windows), [detail.windows]);
  const latestFill = latest ? fillOf(latest) : null;
  const latestNote = fillNote(latestFill);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const chartEmpty = chartData.x.length === 0;
  return (
    <aside className="panel" aria-label="Segment detail" data-segment-id={id}>
      <header className="panel-header">
        <div>
          <h2 className="panel-title">{segment.name || id}</h2>
          <div className="panel-subtitle">
            <span className="segment-id">{id}</span>
            <span>
              {segment.road} {segment.direction}
            </span>
          </div>
        </div>
        <button type="button" className="close-button" aria-label="Close segment detail" onClick={onClose}>
          ×
        </button>
      </header>
      <Link className="panel-detail-link" to={`/segments/${encodeURIComponent(id)}`}>
        Open detail page →
      </Link>

      <section className="panel-now">
        <div className="now-speed" style={{ color: BAND_COLORS[band] }}>
          {reading?.speed != null && Number.isFinite(reading.speed) ? Math.round(convertSpeed(reading.speed, unit)) : '—'}
          <span className="figure-unit">{speedUnitLabel(unit)}</span>
        </div>
        <div className="now-meta">
          <span className="band-pill" style={{ borderColor: BAND_COLORS[band], color: BAND_COLORS[band] }}>
            {labels[band]}
          </span>
          <span>LOS {reading?.level_of_service ?? '—'}</span>
          <span>{reading ? formatDateTimeUtc(reading.timestamp) : 'no reading yet'}</span>
          {latest && latestNote && (
            <span className="panel-fill-note" data-testid="panel-latest-fill" data-fill={latestFill ?? ''}>
              Latest 5-min window {latestNote}
              {latest.mean_speed != null ? `: ${formatSpeed(latest.mean_speed, unit)}` : ''}
            </span>
          )}
        </div>
      </section>

      <FactList
        className="facts"
        facts={[
          ['Free flow', formatSpeed(segment.free_flow_speed, unit)],
          ['Lanes', segment.lanes ?? '—'],
          ['Length', formatNumber(segment.length_miles, ' mi', 2)],
          ['Volume', formatNumber(reading?.volume, '')],
          ['Occupancy', formatNumber(reading?.occupancy, ' %', 1)],
        ]}
      />

      <section className="panel-section">
        <h3>5-minute mean speed, last {HISTORY_HOURS} h, and forecast</h3>
        <div className="chart-box">
          <SpeedChart data={chartData} unit={unit} limits={prefs} />
          {chartEmpty && (
            <div className="chart-overlay">
              {detail.loading ? 'Loading…' : (detail.historyError ?? 'No speed data for this segment yet')}
            </div>
          )}
        </div>
        {!chartEmpty && detail.historyError && <p className="panel-error">History: {detail.historyError}</p>}
      </section>

      <section className="panel-section">
        <h3>Forecast</h3>
        {detail.forecasts.length > 0 ? (
          <table className="forecast-table">
            <thead>
              <tr>
                <th>Horizon</th>
                <th>At (UTC)</th>
                <th>Speed</th>
                <th>80% range</th>
              </tr>
            </thead>
            <tbody>
              {detail.forecasts.map((p) => (
                <tr key={p.horizon_minutes}>
                  <td>+{p.horizon_minutes} min</td>
                  <td>{formatTimeUtc(p.target_time)}</td>
                  <td style={{ color: BAND_COLORS[speedBand(p.predicted_speed, prefs)] }}>
                    {formatSpeed(p.predicted_speed, unit)}
                  </td>
                  <td>{formatSpeedRange(p.speed_lower, p.speed_upper, unit)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="panel-muted">{detail.forecastError ?? 'No forecast issued yet'}</p>
        )}
        {detail.forecasts[0] && (
          <p className="panel-muted">
            Issued {formatDateTimeUtc(detail.forecasts[0].issued_at)} · {detail.forecasts[0].model_version}
            {inputFillNote(detail.forecasts[0].input_fill) && (
              <span className="panel-fill-note" data-testid="panel-forecast-input">
                {' '}
                · {inputFillNote(detail.forecasts[0].input_fill)}
              </span>
            )}
          </p>
        )}
      </section>
    </aside>
  );
}
