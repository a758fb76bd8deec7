// An on-demand forecast: pick a segment, a horizon and a model, and see the
// predicted speed with its 80 % band every 5 minutes up to that horizon.
import { useCallback, useId, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { describeError } from '../../api';
import { formatDateTimeUtc, formatSpeed, formatTimeUtc, speedUnitLabel } from '../../format';
import { useLive } from '../../live/LiveProvider';
import { usePreferences } from '../../preferences';
import { generateForecast, type GeneratedForecast, type ModelList } from './api';
import { forecastChart, forecastRows, formatBand, formatConfidence, formatVolume } from './forecastTable';
import { LineChart, type ChartSeries } from './LineChart';
import { searchSegments, segmentLabel } from './segmentSearch';

const HORIZONS = Array.from({ length: 12 }, (_, i) => (i + 1) * 5);
const BLEND = 'blend-v1';
/** The forecast table's right-aligned columns, after the time. */
const NUMBER_COLUMNS = ['Ahead', 'Speed', '80 % band', 'Volume', 'Confidence'] as const;

export function ForecastCard({ models }: { models: ModelList | null }) {
  const { network } = useLive();
  const { unit } = usePreferences();
  const id = useId();
  const [query, setQuery] = useState('');
  const [segmentId, setSegmentId] = useState<string | null>(null);
  const [horizon, setHorizon] = useState(60);
  const [modelVersion, setModelVersion] = useState('latest');
  const [result, setResult] = useState<GeneratedForecast | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const segments = network.state === 'ready' ? network.segments : null;
  const matches = useMemo(() => (segments ? searchSegments(segments, query) : []), [segments, query]);
  const selected = segmentId && network.state === 'ready' ? network.byId.get(segmentId) : undefined;

  const submit = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      if (!segmentId) return;
      setBusy(true);
      setError(null);
      generateForecast({ segment_id: segmentId, horizon_minutes: horizon, model_version: modelVersion }).then(
        (forecast) => {
          setResult(forecast);
          setBusy(false);
        },
        (e: unknown) => {
          setError(describeError(e));
          setResult(null);
          setBusy(false);
        },
      );
    },
    [segmentId, horizon, modelVersion],
  );

  const rows = useMemo(() => (result ? forecastRows(result) : []), [result]);
  const chart = useMemo(() => forecastChart(rows, unit), [rows, unit]);
  const series = useMemo<ChartSeries[]>(
    () => [
      { label: 'Forecast', values: chart.speed, color: '#c084fc', dash: [6, 4] },
      { label: '80% high', values: chart.upper, color: 'rgba(192, 132, 252, 0.45)', edge: true },
      { label: '80% low', values: chart.lower, color: 'rgba(192, 132, 252, 0.45)', edge: true },
    ],
    [chart],
  );
  const versions = models?.models.map((m) => m.version) ?? [];

  return (
    <section className="card card-stack" aria-labelledby="forecast-title" data-testid="forecast-card">
      <header className="card-header predictions-card-header">
        <h3 id="forecast-title" className="card-title">Forecast on demand</h3>
      </header>
      <form className="predictions-form predictions-forecast-form" onSubmit={submit}>
        <div className="predictions-field predictions-segment-picker">
          <label htmlFor={`${id}-search`}>Segment</label>
          <input
            id={`${id}-search`}
            type="search"
            placeholder={segments ? `Search ${segments.length} segments by id or name` : 'Loading segments…'}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            disabled={!segments}
            autoComplete="off"
            data-testid="forecast-search"
          />
          <select
            size={5}
            aria-label={`Matching segments (${matches.length}${matches.length === 50 ? '+' : ''})`}
            value={segmentId ?? ''}
            onChange={(e) => setSegmentId(e.target.value || null)}
            disabled={!segments}
            data-testid="forecast-segment"
          >
            {matches.map((s) => (
              <option key={s.segment_id} value={s.segment_id}>
                {segmentLabel(s)}
              </option>
            ))}
          </select>
          {network.state === 'error' && <p className="predictions-error">Segments could not be loaded: {network.message}</p>}
        </div>
        <div className="predictions-field-column">
          <div className="predictions-field">
            <label htmlFor={`${id}-horizon`}>Up to</label>
            <select id={`${id}-horizon`} value={horizon} onChange={(e) => setHorizon(Number(e.target.value))} data-testid="forecast-horizon">
              {HORIZONS.map((h) => (
                <option key={h} value={h}>
                  {h} min ahead
                </option>
              ))}
            </select>
          </div>
          <div className="predictions-field">
            <label htmlFor={`${id}-model`}>Model</label>
            <select id={`${id}-model`} value={modelVersion} onChange={(e) => setModelVersion(e.target.value)} data-testid="forecast-model">
              <option value="latest">latest (promoted)</option>
              <option value={BLEND}>{BLEND} (interim)</option>
              {versions.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </div>
          <p className="predictions-selected" data-testid="forecast-selected">
            {selected ? segmentLabel(selected) : 'Choose a segment'}
          </p>
          <button type="submit" className="predictions-primary" disabled={!segmentId || busy} data-testid="forecast-generate">
            {busy ? 'Forecasting…' : 'Forecast'}
          </button>
        </div>
      </form>
      {error && (
        <p className="predictions-error" role="alert" data-testid="forecast-error">
          {error}
        </p>
      )}
      {result && (
        <div className="predictions-forecast" data-testid="forecast-result" data-prediction-id={result.prediction_id}>
          <p className="predictions-muted">
            <Link to={`/segments/${encodeURIComponent(result.segment_id)}`}>{result.segment_id}</Link> by{' '}
            <strong data-testid="forecast-model-version">{result.model_version}</strong>, from the window closed at{' '}
            {formatDateTimeUtc(result.issued_at ?? result.generated_at)}.
          </p>
          <LineChart
            key={unit}
            x={chart.x}
            series={series}
            band={{ upper: 1, lower: 2, fill: 'rgba(192, 132, 252, 0.2)' }}
            xTime
            formatX={(v) => new Date(v * 1000).toISOString().slice(11, 16)}
            formatY={(v) => `${Math.round(v)}`}
            height={170}
            label={`Forecast speed in ${speedUnitLabel(unit)} with its 80 % band`}
            testId="forecast-chart"
          />
          <div className="predictions-table-wrap">
            <table className="data-table predictions-table" data-testid="forecast-table">
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  {NUMBER_COLUMNS.map((title) => (
                    <th key={title} scope="col" className="num">
                      {title}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.horizon} data-horizon={r.horizon}>
                    <td>{formatTimeUtc(r.timestamp)}</td>
                    <td className="num">{r.horizon} min</td>
                    <td className="num" data-testid="forecast-speed">
                      {formatSpeed(r.speed, unit)}
                    </td>
                    <td className="num" data-testid="forecast-band">
                      {formatBand(r.lower, r.upper, unit)}
                    </td>
                    <td className="num">{formatVolume(r.volume)}</td>
                    <td className="num">{formatConfidence(r.confidence)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
