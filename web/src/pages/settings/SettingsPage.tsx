// Settings: how speeds are shown (unit and the map's colour bands, kept in this
// browser), the alert thresholds (the congestion rule, kept on the server) and,
// for admins, the users and API keys.
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useCapability } from '../../auth/AuthProvider';
import { BAND_COLORS, BANDS, bandLabels, DEFAULT_THRESHOLDS } from '../../bands';
import { speedUnitLabel, type SpeedUnit } from '../../format';
import { summarize } from '../../liveState';
import { useLive } from '../../live/LiveProvider';
import { DEFAULT_PREFERENCES, setPreferences, usePreferences } from '../../preferences';
import { RuleEditor } from '../alerts/RuleEditor';
import { bandFormFrom, validateBands, type BandErrors, type BandForm } from './bandForm';
import { KeysSection } from './KeysSection';
import { UsersSection } from './UsersSection';
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
          <span className="swatch" style={{ background: BAND_COLORS[band] }} aria-hidden="true" />
          <span className="settings-preview-count">{counts[band]}</span> {labels[band]}
        </li>
      ))}
    </ul>
  );
}

/** The two limits, each in its band's colour (the yellow band lies between them). */
const LIMIT_FIELDS: readonly { name: keyof BandForm; label: string }[] = [
  { name: 'fast', label: 'Green above' },
  { name: 'slow', label: 'Red below' },
];

/** One band limit: its colour, the number in the viewer's unit and its problem, if any. */
function LimitField({
  name,
  label,
  unitLabel,
  value,
  error,
  onChange,
}: {
  name: keyof BandForm;
  label: string;
  unitLabel: string;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const id = `settings-${name}`;
  return (
    <div className="settings-field">
      <label htmlFor={id}>
        <span className="swatch" style={{ background: BAND_COLORS[name] }} aria-hidden="true" /> {label}
      </label>
      <span className="settings-input-unit">
        <input
          id={id}
          name={name}
          type="number"
          inputMode="decimal"
          min={0}
          step="any"
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
        {unitLabel}
      </span>
      {error && (
        <p className="settings-error" id={`${id}-error`} role="alert" data-testid={`${name}-error`}>
          {error}
        </p>
      )}
    </div>
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
        {LIMIT_FIELDS.map(({ name, label: text }) => (
          <LimitField
            key={name}
            name={name}
            label={text}
            unitLabel={label}
            value={form[name]}
            error={errors[name]}
            onChange={(value) => edit(name, value)}
          />
        ))}
        <p className="settings-hint settings-yellow">
          <span className="swatch" style={{ background: BAND_COLORS.moderate }} aria-hidden="true" /> Yellow
          between them
        </p>
      </div>
      <BandPreview fastAboveMph={preview.fastAboveMph} slowBelowMph={preview.slowBelowMph} />
      <div className="settings-actions">
        <button type="submit" className="button-primary">
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
  const accounts = useCapability('accounts.manage');
  return (
    <div className="page-stack settings-page">
      <h1 className="page-title">Settings</h1>
      <section className="card card-stack settings-card" aria-labelledby="settings-display-heading">
        <header className="card-header">
          <h2 id="settings-display-heading" className="card-title">Display</h2>
          <span className="settings-hint">kept in this browser</span>
        </header>
        <UnitChoice />
        <BandLimits />
      </section>
      <section className="card card-stack settings-card" aria-labelledby="settings-alerts-heading">
        <header className="card-header">
          <h2 id="settings-alerts-heading" className="card-title">Alert thresholds</h2>
          <span className="settings-hint">the congestion rule, on the server: every processor applies it</span>
        </header>
        <RuleEditor heading="Alert thresholds" />
      </section>
      {accounts.allowed && <UsersSection />}
      {accounts.allowed && <KeysSection />}
    </div>
  );
}
