// The forecast settings form: the draft being edited, its validation and the
// server's field errors mapped back onto the form's fields.
import type { FieldProblem } from '../../api';
import type { ForecastSettings } from './api';

export interface SettingsDraft {
  horizons: number[];
  refresh: number;
}

export type SettingsField = 'horizons_min' | 'refresh_minutes';
export type SettingsErrors = Partial<Record<SettingsField, string>>;

export function draftFrom(settings: Pick<ForecastSettings, 'horizons_min' | 'refresh_minutes'>): SettingsDraft {
  return { horizons: [...settings.horizons_min].sort((a, b) => a - b), refresh: settings.refresh_minutes };
}

export function defaultsDraft(settings: ForecastSettings): SettingsDraft {
  return draftFrom({ horizons_min: settings.default_horizons_min, refresh_minutes: settings.default_refresh_minutes });
}

export function toggleHorizon(draft: SettingsDraft, horizon: number, on: boolean): SettingsDraft {
  const set = new Set(draft.horizons);
  if (on) set.add(horizon);
  else set.delete(horizon);
  return { ...draft, horizons: [...set].sort((a, b) => a - b) };
}

/** What the server would refuse, said before asking it. */
export function validateDraft(
  draft: SettingsDraft,
  settings: Pick<ForecastSettings, 'available_horizons_min' | 'refresh_choices_minutes'>,
): SettingsErrors {
  const errors: SettingsErrors = {};
  if (draft.horizons.length === 0) errors.horizons_min = 'Choose at least one horizon.';
  else {
    const unknown = draft.horizons.filter((h) => !settings.available_horizons_min.includes(h));
    if (unknown.length > 0) errors.horizons_min = `Not available: ${unknown.join(', ')} min.`;
  }
  if (!settings.refresh_choices_minutes.includes(draft.refresh)) {
    errors.refresh_minutes = `Choose one of ${settings.refresh_choices_minutes.join(', ')} minutes.`;
  }
  return errors;
}

export function hasErrors(errors: SettingsErrors): boolean {
  return Object.values(errors).some(Boolean);
}

export function isDirty(draft: SettingsDraft, settings: Pick<ForecastSettings, 'horizons_min' | 'refresh_minutes'>): boolean {
  const saved = draftFrom(settings);
  return draft.refresh !== saved.refresh || draft.horizons.join(',') !== saved.horizons.join(',');
}

/** The server's field problems on the form's fields ("horizons_min.0" is horizons_min). */
export function problemsByField(problems: readonly FieldProblem[]): SettingsErrors & { other?: string } {
  const out: SettingsErrors & { other?: string } = {};
  for (const { field, reason } of problems) {
    const root = field.split('.')[0];
    const key: SettingsField | 'other' = root === 'horizons_min' || root === 'refresh_minutes' ? root : 'other';
    out[key] = out[key] ? `${out[key]} ${reason}` : reason;
  }
  return out;
}

/** "every 15 min: 15, 30, 60 min ahead" */
export function describeSchedule(settings: Pick<ForecastSettings, 'horizons_min' | 'refresh_minutes'>): string {
  return `every ${settings.refresh_minutes} min: ${settings.horizons_min.join(', ')} min ahead`;
}
