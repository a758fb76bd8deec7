// The operator's display preferences (speed unit, speed-band thresholds), kept in
// localStorage so they survive a reload, and shared by every page through a hook.
import { useSyncExternalStore } from 'react';
import { FAST_ABOVE_MPH, SLOW_BELOW_MPH } from './bands';
import type { SpeedUnit } from './format';

export interface Preferences {
  unit: SpeedUnit;
  /** Band thresholds, always in mph (the API's unit). */
  fastAboveMph: number;
  slowBelowMph: number;
}

export const DEFAULT_PREFERENCES: Preferences = {
  unit: 'mph',
  fastAboveMph: FAST_ABOVE_MPH,
  slowBelowMph: SLOW_BELOW_MPH,
};

const KEY = 'trafficcast.preferences';

/** Reads stored preferences, falling back field by field to the defaults on anything invalid. */
export function parsePreferences(text: string | null): Preferences {
  if (!text) return DEFAULT_PREFERENCES;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return DEFAULT_PREFERENCES;
  }
  if (typeof raw !== 'object' || raw === null) return DEFAULT_PREFERENCES;
  const r = raw as Record<string, unknown>;
  const unit = r.unit === 'kmh' || r.unit === 'mph' ? r.unit : DEFAULT_PREFERENCES.unit;
  const fast = typeof r.fastAboveMph === 'number' && Number.isFinite(r.fastAboveMph) ? r.fastAboveMph : null;
  const slow = typeof r.slowBelowMph === 'number' && Number.isFinite(r.slowBelowMph) ? r.slowBelowMph : null;
  const bandsValid = fast !== null && slow !== null && slow > 0 && fast > slow && fast <= 200;
  return {
    unit,
    fastAboveMph: bandsValid ? fast : DEFAULT_PREFERENCES.fastAboveMph,
    slowBelowMph: bandsValid ? slow : DEFAULT_PREFERENCES.slowBelowMph,
  };
}

const listeners = new Set<() => void>();
let current: Preferences | null = null;

function storage(): Storage | null {
  return typeof localStorage === 'undefined' ? null : localStorage;
}

export function getPreferences(): Preferences {
  current ??= parsePreferences(storage()?.getItem(KEY) ?? null);
  return current;
}

export function setPreferences(next: Preferences): void {
  current = parsePreferences(JSON.stringify(next));
  storage()?.setItem(KEY, JSON.stringify(current));
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function usePreferences(): Preferences {
  return useSyncExternalStore(subscribe, getPreferences, getPreferences);
}
