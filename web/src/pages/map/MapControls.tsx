// The map's layer card: toggles, the forecast horizon and the legend.
import { BAND_COLORS, bandLabels, BANDS, type BandThresholds } from '../../bands';
import type { SpeedUnit } from '../../format';
import { formatTimeUtc } from '../../format';
import { SEVERITY_COLORS, type Severity } from '../../map/alerts';
import { FORECAST_COLOR, HORIZON_MAX, HORIZON_MIN, HORIZON_STEP } from '../../map/forecast';
import type { LayerGroup } from '../../map/style';
import type { ForecastLayerState } from './useForecastLayer';

interface MapControlsProps {
  visible: Readonly<Record<LayerGroup, boolean>>;
  onToggle: (group: LayerGroup, on: boolean) => void;
  horizon: number;
  onHorizon: (minutes: number) => void;
  forecast: ForecastLayerState;
  /** Forecasts describe the future from now: not offered while looking at the past. */
  forecastAvailable: boolean;
  alertSegments: number;
  alertsError: string | null;
  limits: BandThresholds;
  unit: SpeedUnit;
  pastLabel: string | null;
}

const SEVERITY_LABELS: readonly [Severity, string][] = [
  ['critical', 'critical'],
  ['major', 'major'],
  ['minor', 'minor'],
];

export function MapControls(props: MapControlsProps) {
  const { visible, onToggle, horizon, onHorizon, forecast, forecastAvailable, limits, unit } = props;
  const labels = bandLabels(limits, unit);
  const forecastOn = visible.forecast && forecastAvailable;
  return (
    <section className="map-card map-layers" aria-labelledby="map-layers-title">
      <h2 id="map-layers-title" className="card-title map-card-title">
        Layers
      </h2>
      <label className="map-toggle">
        <input type="checkbox" checked={visible.speeds} onChange={(e) => onToggle('speeds', e.target.checked)} />
        <span>{props.pastLabel ? 'Speeds in the chosen window' : 'Live speeds'}</span>
      </label>
      <label className="map-toggle">
        <input
          type="checkbox"
          checked={forecastOn}
          disabled={!forecastAvailable}
          onChange={(e) => onToggle('forecast', e.target.checked)}
          aria-describedby={forecastAvailable ? undefined : 'map-forecast-note'}
        />
        <span className="map-forecast-sample" aria-hidden="true" style={{ borderColor: FORECAST_COLOR }} />
        <span>Forecast</span>
      </label>
      {!forecastAvailable && (
        <p id="map-forecast-note" className="map-note">
          Forecasts show the future from now: back to Live to see them.
        </p>
      )}
      {forecastOn && (
        <div className="map-horizon">
          <label htmlFor="map-horizon-input">
            Horizon <strong data-testid="horizon-value">+{horizon} min</strong>
          </label>
          <input
            id="map-horizon-input"
            type="range"
            min={HORIZON_MIN}
            max={HORIZON_MAX}
            step={HORIZON_STEP}
            value={horizon}
            onChange={(e) => onHorizon(Number(e.target.value))}
            aria-valuetext={`${horizon} minutes ahead`}
          />
          <p className="map-note" role="status" data-testid="forecast-status">
            {forecast.error
              ? `Forecast unavailable: ${forecast.error}`
              : forecast.loading && !forecast.data
                ? 'Loading forecast…'
                : forecast.data && forecast.data.size === 0
                  ? `No forecast at +${forecast.horizon ?? horizon} min yet`
                  : forecast.data
                    ? `${forecast.data.size} segments · issued ${formatTimeUtc(forecast.issuedAt)} UTC${forecast.loading ? ' · updating…' : ''}`
                    : ''}
          </p>
        </div>
      )}
      <label className="map-toggle">
        <input type="checkbox" checked={visible.alerts} onChange={(e) => onToggle('alerts', e.target.checked)} />
        <span className="map-alert-sample" aria-hidden="true" style={{ background: SEVERITY_COLORS.major }} />
        <span>
          Alerts{' '}
          <span className="map-muted">
            ({props.alertsError ? 'unavailable' : `${props.alertSegments} segment${props.alertSegments === 1 ? '' : 's'}`})
          </span>
        </span>
      </label>

      <h3 className="card-title map-card-subtitle">Legend</h3>
      <ul className="map-legend" aria-label="Legend">
        {BANDS.map((band) => (
          <li key={band} data-legend-band={band}>
            <span className="map-legend-line" style={{ background: BAND_COLORS[band] }} aria-hidden="true" />
            {labels[band]}
          </li>
        ))}
        <li>
          <span className="map-legend-forecast" style={{ background: FORECAST_COLOR }} aria-hidden="true">
            <span style={{ background: BAND_COLORS.moderate }} />
          </span>
          forecast (core: its band)
        </li>
        <li className="map-legend-alerts">
          {SEVERITY_LABELS.map(([severity, label]) => (
            <span key={severity} className="map-legend-alert">
              <span className="map-alert-sample" style={{ background: SEVERITY_COLORS[severity] }} aria-hidden="true" />
              {label}
            </span>
          ))}
        </li>
      </ul>
    </section>
  );
}
