// Live accuracy: stored forecasts scored against the windows that closed later,
// per model version and horizon, over the last 24 hours of data.
import { useCallback, useMemo, useState } from 'react';
import { fetchAccuracy } from '../../api';
import { formatDateTimeUtc, speedUnitLabel } from '../../format';
import { useReconnect } from '../../live/LiveProvider';
import { usePreferences } from '../../preferences';
import { ACCURACY_METRICS, accuracyByModel, formatMetricValue, horizonsOf, metricValue, type AccuracyMetric } from './accuracy';
import { LineChart, type ChartSeries } from './LineChart';
import { useLoad } from './useLoad';

const REFRESH_MS = 60_000;
const BUCKET_MINUTES = 60;
const PALETTE = ['#c084fc', '#4ea8ff', '#3ddc84', '#f9c80e', '#ff7a59', '#9aa4b2'];

export function AccuracyCard({ liveVersion }: { liveVersion: string | null }) {
  const { unit } = usePreferences();
  const load = useCallback((signal: AbortSignal) => fetchAccuracy({ bucket_minutes: String(BUCKET_MINUTES) }, signal), []);
  const accuracy = useLoad(load, REFRESH_MS);
  useReconnect(accuracy.reload);
  const [metric, setMetric] = useState<AccuracyMetric>('speed_mae');

  const models = useMemo(() => accuracyByModel(accuracy.data?.buckets ?? []), [accuracy.data]);
  const horizons = useMemo(() => horizonsOf(models), [models]);
  const series = useMemo<ChartSeries[]>(
    () =>
      models.map((m, i) => ({
        label: m.model_version,
        color: PALETTE[i % PALETTE.length] ?? '#9aa4b2',
        values: horizons.map((h) => metricValue(m.byHorizon.get(h), metric, unit)),
      })),
    [models, horizons, metric, unit],
  );
  const metricLabel = ACCURACY_METRICS.find((m) => m.value === metric)?.label ?? metric;
  const valueUnit = metric === 'speed_mae' || metric === 'speed_rmse' ? ` (${speedUnitLabel(unit)})` : '';
  const data = accuracy.data;

  return (
    <section className="card card-stack" aria-labelledby="accuracy-title" data-testid="accuracy-card">
      <header className="card-header predictions-card-header">
        <h3 id="accuracy-title" className="card-title">Live accuracy</h3>
        <label className="predictions-inline-label">
          Show
          <select value={metric} onChange={(e) => setMetric(e.target.value as AccuracyMetric)} data-testid="accuracy-metric">
            {ACCURACY_METRICS.map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
      </header>
      {accuracy.error && (
        <p className="predictions-error" role="alert">
          Could not load the accuracy: {accuracy.error}
        </p>
      )}
      {!data && !accuracy.error && <p className="predictions-muted">Loading accuracy…</p>}
      {data && (
        <p className="predictions-muted">
          Forecasts whose target fell from {formatDateTimeUtc(data.start_time)} to {formatDateTimeUtc(data.end_time)}, scored
          against the 5-minute windows that closed.
        </p>
      )}
      {data && models.length === 0 && (
        <p className="predictions-muted" data-testid="accuracy-empty">
          No forecast has been scored yet: a forecast is scored when its target window closes.
        </p>
      )}
      {models.length > 0 && (
        <>
          <LineChart
            key={`${unit}-${metric}`}
            x={horizons}
            series={series}
            formatX={(v) => `${v} min`}
            formatY={(v) => formatMetricValue(v, metric)}
            height={170}
            label={`${metricLabel} by horizon for each model`}
            testId="accuracy-chart"
          />
          <div className="predictions-table-wrap">
            <table className="data-table predictions-table" data-testid="accuracy-table">
              <caption className="visually-hidden">
                {metricLabel} by horizon and model
              </caption>
              <thead>
                <tr>
                  <th scope="col">
                    Horizon <small>{metricLabel + valueUnit}</small>
                  </th>
                  {models.map((m, i) => (
                    <th key={m.model_version} scope="col" className="num">
                      <span className="predictions-swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
                      {m.model_version}
                      {m.model_version === liveVersion && <span className="predictions-badge predictions-badge-live">Live</span>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {horizons.map((h) => (
                  <tr key={h}>
                    <th scope="row">{h} min</th>
                    {models.map((m) => (
                      <td key={m.model_version} className="num" data-model={m.model_version} data-horizon={h}>
                        {formatMetricValue(metricValue(m.byHorizon.get(h), metric, unit), metric)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
