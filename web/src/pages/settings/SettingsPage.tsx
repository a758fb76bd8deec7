// Settings: how speeds are shown (unit and the map's colour bands, kept in this
// browser) and the alert thresholds (the congestion rule, kept on the server).
// Users, roles and API keys arrive with the security work, which has no API yet.
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { BAND_COLORS, BANDS, bandLabels, DEFAULT_THRESHOLDS } from '../../bands';
import { speedUnitLabel, type SpeedUnit } from '../../format';
import { summarize } from '../../liveState';
import { useLive } from '../../live/LiveProvider';
import { DEFAULT_PREFERENCES, setPreferences, usePreferences } from '../../preferences';
import { RuleEditor } from '../alerts/RuleEditor';
import { bandFormFrom, validateBands, type BandErrors, type BandForm } from './bandForm';
import './settings.css';

const UNITS: readonly { value: SpeedUnit; label: string }[] = [
  { value: 'mph', label: 'Miles per hour (mph)' },
  { value: 'kmh', label: 'Kilometres per hour (km/h)' },
];

function UnitChoice() {
  const prefs = usePreferences();
  return (
    <fieldset className="settings-units">
      <legend>Speed unit</legend>
      {UNITS.map((u) => (
        <label key={u.value} className="settings-radio">
          <input
            type="radio"
            name="unit"
            value={u.value}
            checked={prefs.unit === u.value}
            onChange={() => setPreferences({ ...prefs, unit: u.value })}
          />
          {u.label}
        </label>
      ))}
      <p className="settings-hint">Applies at once on every page; kept in this browser.</p>
    </fieldset>
  );
}

/** How the network would split into bands with the limits being typed (live). */
function BandPreview({ fastAboveMph, slowBelowMph }: { fastAboveMph: number; slowBelowMph: number }) {
  const { store, network } = useLive();
  const prefs = usePreferences();
  const ids = useMemo(() => (network.state === 'ready' ? network.segments.map((s) => s.segment_id) : []), [network]);
  const count = useCallback(
    () => summarize(ids, store.readings, { fastAboveMph, slowBelowMph }).counts,
    [ids, store, fastAboveMph, slowBelowMph],
  );
  // Recounted once a second: readings arrive many times a second.
  const [counts, setCounts] = useState(count);
  useEffect(() => {
    setCounts(count());
    const timer = setInterval(() => setCounts(count()), 1000);
    return () => clearInterval(timer);
  }, [count]);
  const labels = bandLabels({ fastAboveMph, slowBelowMph }, prefs.unit);
  return (
    <ul className="settings-preview" aria-label="Segments in each band with these limits" data-testid="band-preview">
      {BANDS.map((band) => (
        <li key={band} data-band={band}>
          <span className="settings-swatch" style={{ background: BAND_COLORS[band] }} aria-hidden="true" />
          <span className="settings-preview-count">{counts[band]}</span> {labels[band]}
        </li>
      ))}
    </ul>
  );
}

function BandLimits() {
  const prefs = usePreferences();
  const { unit, fastAboveMph, slowBelowMph } = prefs;
  const [form, setForm] = useState<BandForm>(() => bandFormFrom(prefs, unit));
  const [errors, setErrors] = useState<BandErrors>({});
  const [saved, setSaved] = useState(false);
  // A change of unit or of the stored limits (another tab, restore defaults) re-fills the form.
  useEffect(() => {
    setForm(bandFormFrom({ fastAboveMph, slowBelowMph }, unit));
    setErrors({});
  }, [unit, fastAboveMph, slowBelowMph]);

  const current = { fastAboveMph, slowBelowMph };
  const checked = validateBands(form, unit, current);
  const preview = checked.limits ?? current;
  const label = speedUnitLabel(unit);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setErrors(checked.errors);
    if (!checked.limits) return;
    setPreferences({ ...prefs, ...checked.limits });
    setSaved(true);
  };
  const edit = (key: keyof BandForm, value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => (e[key] ? { ...e, [key]: undefined } : e));
    setSaved(false);
  };

  return (
    <form className="settings-bands" onSubmit={submit} noValidate aria-label="Speed bands" data-testid="band-form">
      <div className="settings-band-fields">
        <div className="settings-field">
          <label htmlFor="settings-fast">
            <span className="settings-swatch" style={{ background: BAND_COLORS.fast }} aria-hidden="true" /> Green above
          </label>
          <span className="settings-input-unit">
            <input
              id="settings-fast"
              name="fast"
              type="number"
              inputMode="decimal"
              min={0}
              step="any"
              value={form.fast}
              aria-invalid={errors.fast ? true : undefined}
              aria-describedby={errors.fast ? 'settings-fast-error' : undefined}
              onChange={(e) => edit('fast', e.target.value)}
            />
            {label}
          </span>
          {errors.fast && (
            <p className="settings-error" id="settings-fast-error" role="alert" data-testid="fast-error">
              {errors.fast}
            </p>
          )}
        </div>
        <div className="settings-field">
          <label htmlFor="settings-slow">
            <span className="settings-swatch" style={{ background: BAND_COLORS.slow }} aria-hidden="true" /> Red below
          </label>
          <span className="settings-input-unit">
            <input
              id="settings-slow"
              name="slow"
              type="number"
              inputMode="decimal"
              min={0}
              step="any"
              value={form.slow}
              aria-invalid={errors.slow ? true : undefined}
              aria-describedby={errors.slow ? 'settings-slow-error' : undefined}
              onChange={(e) => edit('slow', e.target.value)}
            />
            {label}
          </span>
          {errors.slow && (
            <p className="settings-error" id="settings-slow-error" role="alert" data-testid="slow-error">
              {errors.slow}
            </p>
          )}
        </div>
        <p className="settings-hint settings-yellow">
          <span className="settings-swatch" style={{ background: BAND_COLORS.moderate }} aria-hidden="true" /> Yellow
          between them
        </p>
      </div>
      <BandPreview fastAboveMph={preview.fastAboveMph} slowBelowMph={preview.slowBelowMph} />
      <div className="settings-actions">
        <button type="submit" className="settings-primary">
          Apply bands
        </button>
        <button
          type="button"
          onClick={() => {
            setPreferences(DEFAULT_PREFERENCES);
            // Also when the stored limits are the defaults already (the effect would not run).
            setForm(bandFormFrom(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES.unit));
            setErrors({});
            setSaved(false);
          }}
        >
          Restore defaults ({DEFAULT_THRESHOLDS.slowBelowMph}/{DEFAULT_THRESHOLDS.fastAboveMph} mph)
        </button>
        <span className="settings-status" role="status">
          {saved && 'Applied to the map and the header.'}
        </span>
      </div>
    </form>
  );
}

export default function SettingsPage() {
  return (
    <div className="settings-page">
      <h1 className="settings-title">Settings</h1>
      <section className="settings-card" aria-labelledby="settings-display-heading">
        <header className="settings-card-header">
          <h2 id="settings-display-heading">Display</h2>
          <span className="settings-hint">kept in this browser</span>
        </header>
        <UnitChoice />
        <BandLimits />
      </section>
      <section className="settings-card" aria-labelledby="settings-alerts-heading">
        <header className="settings-card-header">
          <h2 id="settings-alerts-heading">Alert thresholds</h2>
          <span className="settings-hint">the congestion rule, on the server: every processor applies it</span>
        </header>
        <RuleEditor heading="Alert thresholds" />
      </section>
    </div>
  );
}
