import { describe, expect, it } from 'vitest';
import type { ForecastSettings } from './api';
import {
  defaultsDraft,
  describeSchedule,
  draftFrom,
  hasErrors,
  isDirty,
  problemsByField,
  toggleHorizon,
  validateDraft,
} from './settings';

const SETTINGS: ForecastSettings = {
  horizons_min: [60, 15, 30],
  refresh_minutes: 5,
  available_horizons_min: [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60],
  refresh_choices_minutes: [5, 10, 15, 30, 60],
  default_horizons_min: [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60],
  default_refresh_minutes: 5,
};

describe('settings draft', () => {
  it('starts from the saved settings, sorted', () => {
    expect(draftFrom(SETTINGS)).toEqual({ horizons: [15, 30, 60], refresh: 5 });
    expect(defaultsDraft(SETTINGS).horizons).toHaveLength(12);
  });

  it('toggles horizons without duplicates', () => {
    const draft = draftFrom(SETTINGS);
    expect(toggleHorizon(draft, 5, true).horizons).toEqual([5, 15, 30, 60]);
    expect(toggleHorizon(draft, 15, true).horizons).toEqual([15, 30, 60]);
    expect(toggleHorizon(draft, 30, false).horizons).toEqual([15, 60]);
  });

  it('knows when it differs from what is saved', () => {
    expect(isDirty(draftFrom(SETTINGS), SETTINGS)).toBe(false);
    expect(isDirty({ horizons: [15, 30, 60], refresh: 15 }, SETTINGS)).toBe(true);
    expect(isDirty({ horizons: [15, 30], refresh: 5 }, SETTINGS)).toBe(true);
  });
});

describe('settings validation', () => {
  it('accepts a non-empty subset and a known refresh', () => {
    expect(hasErrors(validateDraft({ horizons: [15], refresh: 60 }, SETTINGS))).toBe(false);
  });

  it('names each bad field', () => {
    expect(validateDraft({ horizons: [], refresh: 5 }, SETTINGS)).toEqual({ horizons_min: 'Choose at least one horizon.' });
    expect(validateDraft({ horizons: [7, 15], refresh: 7 }, SETTINGS)).toEqual({
      horizons_min: 'Not available: 7 min.',
      refresh_minutes: 'Choose one of 5, 10, 15, 30, 60 minutes.',
    });
  });

  it('maps the server field problems onto the form', () => {
    expect(
      problemsByField([
        { field: 'horizons_min.0', reason: 'Input should be a valid integer' },
        { field: 'refresh_minutes', reason: 'must be one of 5, 10' },
        { field: 'body', reason: 'broken' },
      ]),
    ).toEqual({
      horizons_min: 'Input should be a valid integer',
      refresh_minutes: 'must be one of 5, 10',
      other: 'broken',
    });
  });

  it('describes the schedule', () => {
    expect(describeSchedule({ horizons_min: [15, 60], refresh_minutes: 15 })).toBe('every 15 min: 15, 60 min ahead');
  });
});
