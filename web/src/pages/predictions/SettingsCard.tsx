// Forecast settings: which horizons the live forecaster publishes and how often it
// issues them. Checked here first; the server's own field errors show the same way.
import { RoleButton, RoleNote } from '../../auth/RoleButton';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../../api';
import { fetchForecastSettings, saveForecastSettings } from './api';
import {
  defaultsDraft,
  describeSchedule,
  draftFrom,
  hasErrors,
  isDirty,
  problemsByField,
  toggleHorizon,
  validateDraft,
  type SettingsDraft,
  type SettingsErrors,
} from './settings';
import { useLoad } from './useLoad';

/** Always in the page (the field's aria-describedby points at it); empty, and hidden, without an error. */
function FieldError({ id, error }: { id: string; error: string | null | undefined }) {
  return (
    <p id={id} className="predictions-error predictions-field-error" role="alert">
      {error ?? ''}
    </p>
  );
}

export function SettingsCard() {
  const loaded = useLoad(fetchForecastSettings);
  const saved = loaded.data;
  const [draft, setDraft] = useState<SettingsDraft | null>(null);
  const [serverErrors, setServerErrors] = useState<SettingsErrors & { other?: string }>({});
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState<string | null>(null);

  useEffect(() => {
    if (saved) setDraft(draftFrom(saved));
  }, [saved]);

  const edit = useCallback((next: SettingsDraft) => {
    setDraft(next);
    setServerErrors({});
    setStatus(null);
  }, []);

  const errors: SettingsErrors = saved && draft ? validateDraft(draft, saved) : {};
  const submit = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      if (!saved || !draft || hasErrors(validateDraft(draft, saved))) return;
      setSaving(true);
      saveForecastSettings({ horizons_min: draft.horizons, refresh_minutes: draft.refresh }).then(
        (next) => {
          loaded.set(next);
          setServerErrors({});
          setStatus(`Saved: forecasts ${describeSchedule(next)}, from the next window close on.`);
          setSaving(false);
        },
        (error: unknown) => {
          setServerErrors(
            error instanceof ApiError && error.fields.length > 0
              ? problemsByField(error.fields)
              : { other: describeError(error) },
          );
          setSaving(false);
        },
      );
    },
    [saved, draft, loaded],
  );

  const horizonsError = serverErrors.horizons_min ?? errors.horizons_min;
  const refreshError = serverErrors.refresh_minutes ?? errors.refresh_minutes;
  return (
    <section className="card card-stack" aria-labelledby="settings-title" data-testid="settings-card">
      <header className="card-header predictions-card-header">
        <h3 id="settings-title" className="card-title">Forecast settings</h3>
        {saved && (
          <span className="predictions-muted" data-testid="settings-current">
            Now: {describeSchedule(saved)}
          </span>
        )}
      </header>
      {loaded.error && (
        <p className="predictions-error" role="alert">
          Could not load the forecast settings: {loaded.error}
        </p>
      )}
      {!saved && !loaded.error && <p className="predictions-muted">Loading settings…</p>}
      <RoleNote capability="forecast.settings" what="the forecast settings" />
      {saved && draft && (
        <form className="predictions-form" onSubmit={submit} noValidate data-testid="settings-form">
          <fieldset aria-describedby="settings-horizons-error" aria-invalid={horizonsError ? true : undefined}>
            <legend>Horizons published (minutes ahead)</legend>
            <div className="predictions-checks">
              {saved.available_horizons_min.map((h) => (
                <label key={h} className="predictions-check">
                  <input
                    type="checkbox"
                    checked={draft.horizons.includes(h)}
                    onChange={(e) => edit(toggleHorizon(draft, h, e.target.checked))}
                    data-horizon={h}
                  />
                  {h}
                </label>
              ))}
            </div>
            <FieldError id="settings-horizons-error" error={horizonsError} />
          </fieldset>
          <div className="predictions-field">
            <label htmlFor="settings-refresh">Issue forecasts every</label>
            <select
              id="settings-refresh"
              value={draft.refresh}
              onChange={(e) => edit({ ...draft, refresh: Number(e.target.value) })}
              aria-invalid={refreshError ? true : undefined}
              aria-describedby="settings-refresh-error"
              data-testid="settings-refresh"
            >
              {saved.refresh_choices_minutes.map((m) => (
                <option key={m} value={m}>
                  {m} min
                </option>
              ))}
            </select>
            <FieldError id="settings-refresh-error" error={refreshError} />
          </div>
          <p className="predictions-muted">
            Issues fall on the clock (every 15 min: at :00, :15, :30, :45 UTC). Default from the server&apos;s settings:{' '}
            {describeSchedule({ horizons_min: saved.default_horizons_min, refresh_minutes: saved.default_refresh_minutes })}.
          </p>
          <div className="predictions-buttons">
            <RoleButton
              capability="forecast.settings"
              type="submit"
              className="predictions-primary"
              disabled={saving || !isDirty(draft, saved) || hasErrors(errors)}
              data-testid="settings-save"
            >
              {saving ? 'Saving…' : 'Save'}
            </RoleButton>
            <button type="button" onClick={() => edit(draftFrom(saved))} disabled={saving || !isDirty(draft, saved)}>
              Discard changes
            </button>
            <button type="button" onClick={() => edit(defaultsDraft(saved))} disabled={saving} data-testid="settings-defaults">
              Defaults
            </button>
          </div>
          {serverErrors.other && (
            <p className="predictions-error" role="alert">
              {serverErrors.other}
            </p>
          )}
          {status && (
            <p className="predictions-ok" role="status" data-testid="settings-status">
              {status}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
