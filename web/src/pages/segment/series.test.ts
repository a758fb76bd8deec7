import { describe, expect, it } from 'vitest';
import type { Prediction, TrafficWindow } from '../../types';
import type { PastForecast } from './api';
import { buildSeries, mergePastForecast, trimPast } from './series';

const T0 = Date.parse('2026-01-05T08:00:00Z') / 1000;
const at = (minute: number) => T0 + minute * 60;
const iso = (minute: number) => new Date(at(minute) * 1000).toISOString();

function win(startMinute: number, speed: number | null, volume: number | null = 100): TrafficWindow {
  return {
    window_start: iso(startMinute),
    window_end: iso(startMinute + 5),
    mean_speed: speed,
    harmonic_mean_speed: speed,
    volume,
    occupancy: null,
    count: 10,
    level_of_service: 'C',
  };
}

function past(targetMinute: number, speed: number, volume: number | null = null, horizon = 15, model = 'm'): PastForecast {
  return {
    issued_at: iso(targetMinute - horizon),
    target_time: iso(targetMinute),
    predicted_speed: speed,
    speed_lower: speed - 5,
    speed_upper: speed + 5,
    predicted_volume: volume,
    volume_lower: null,
    volume_upper: null,
    model_version: model,
  };
}

function fan(issuedMinute: number, horizon: number, speed: number, volume: number | null = null): Prediction {
  return {
    prediction_id: `S1@${issuedMinute}/m`,
    segment_id: 'S1',
    issued_at: iso(issuedMinute),
    horizon_minutes: horizon,
    target_time: iso(issuedMinute + horizon),
    predicted_speed: speed,
    speed_lower: speed - 10,
    speed_upper: speed + 10,
    predicted_volume: volume,
    volume_lower: volume === null ? null : volume - 20,
    volume_upper: volume === null ? null : volume + 20,
    confidence: 0.8,
    model_version: 'm',
  };
}

describe('buildSeries', () => {
  it('aligns observed windows, past forecasts and the fan on window ends', () => {
    const s = buildSeries({
      windows: [win(0, 50, 100), win(5, 48, 110), win(10, 45, 120)],
      past: [past(5, 52, 90), past(10, 47), past(15, 44)],
      fan: [fan(15, 30, 35, 150), fan(15, 15, 40, 140)],
      rangeHours: 3,
      unit: 'mph',
    });
    expect(s.x).toEqual([at(5), at(10), at(15), at(30), at(45)]);
    expect(s.speed).toEqual([50, 48, 45, undefined, undefined]);
    expect(s.volume).toEqual([100, 110, 120, undefined, undefined]);
    expect(s.pastSpeed).toEqual([52, 47, 44, undefined, undefined]);
    expect(s.pastVolume).toEqual([90, null, null, undefined, undefined]);
    // The fan starts at the last observation (08:15) and spreads out.
    expect(s.fanSpeed).toEqual([undefined, undefined, 45, 40, 35]);
    expect(s.fanSpeedLow).toEqual([undefined, undefined, 45, 30, 25]);
    expect(s.fanSpeedHigh).toEqual([undefined, undefined, 45, 50, 45]);
    expect(s.fanVolume).toEqual([undefined, undefined, 120, 140, 150]);
    expect(s.fanVolumeLow).toEqual([undefined, undefined, 120, 120, 130]);
    expect(s.now).toBe(at(15));
    expect(s.counts).toEqual({ observed: 3, imputed: 0, past: 3, fan: 2 });
  });

  it('breaks lines at missing windows, missing values and missing forecasts', () => {
    const s = buildSeries({
      windows: [win(0, 50), win(5, null, null), win(20, 40)],
      past: [past(5, 51), past(10, 49), past(25, 41)],
      fan: [],
      rangeHours: 3,
      unit: 'mph',
    });
    // Both gaps fall half a window after the last known point (08:12:30).
    expect(s.x).toEqual([at(5), at(10), at(12.5), at(25)]);
    expect(s.speed).toEqual([50, null, null, 40]);
    expect(s.volume).toEqual([100, null, null, 100]);
    expect(s.pastSpeed).toEqual([51, 49, null, 41]);
    expect(s.counts.observed).toBe(2);
  });

  it('converts speeds and bands to km/h but leaves volumes alone', () => {
    const s = buildSeries({
      windows: [win(0, 50, 100)],
      past: [],
      fan: [fan(5, 15, 40, 90)],
      rangeHours: 3,
      unit: 'kmh',
    });
    expect(s.speed[0]).toBeCloseTo(80.4672, 4);
    expect(s.fanSpeedHigh[1]).toBeCloseTo(50 * 1.609344, 6);
    expect(s.fanVolume[1]).toBe(90);
  });

  it('shows only the chosen range back from the newest window', () => {
    const windows = Array.from({ length: 48 }, (_, i) => win(i * 5, 50));
    const pasts = Array.from({ length: 48 }, (_, i) => past(i * 5 + 5, 50));
    const s = buildSeries({ windows, past: pasts, fan: [], rangeHours: 1, unit: 'mph' });
    expect(s.x[0]).toBe(at(180));
    expect(s.x.at(-1)).toBe(at(240));
    expect(s.counts).toEqual({ observed: 13, imputed: 0, past: 13, fan: 0 });
  });

  it('draws the fan alone when no window is known yet, and nothing from nothing', () => {
    const s = buildSeries({ windows: [], past: [], fan: [fan(0, 15, 40)], rangeHours: 3, unit: 'mph' });
    expect(s.x).toEqual([at(15)]);
    expect(s.fanSpeed).toEqual([40]);
    expect(s.now).toBeNull();
    expect(buildSeries({ windows: [], past: [], fan: [], rangeHours: 3, unit: 'mph' }).x).toEqual([]);
  });

  it('leaves the band out where the fan has none', () => {
    const noBand = { ...fan(5, 15, 40), speed_lower: null, speed_upper: Number.NaN };
    const s = buildSeries({ windows: [], past: [], fan: [noBand], rangeHours: 3, unit: 'mph' });
    expect(s.fanSpeed).toEqual([40]);
    expect(s.fanSpeedLow).toEqual([undefined]);
    expect(s.fanSpeedHigh).toEqual([undefined]);
  });
});

describe('mergePastForecast', () => {
  const batch = (issuedMinute: number, speed: number) => ({
    issued_at: iso(issuedMinute),
    model_version: 'm',
    forecasts: [60, 15, 30].map((h) => fan(issuedMinute, h, speed)),
  });

  it('adds the new issue at the chosen horizon, in target order', () => {
    const merged = mergePastForecast([past(20, 50), past(40, 50)], batch(10, 44), 15);
    expect(merged.map((p) => [p.target_time, p.predicted_speed])).toEqual([
      [iso(20), 50],
      [iso(25), 44],
      [iso(40), 50],
    ]);
  });

  it('replaces a copy of the same issue and ignores batches without the horizon', () => {
    const once = mergePastForecast([], batch(10, 44), 30);
    const twice = mergePastForecast(once, batch(10, 46), 30);
    expect(twice.map((p) => p.predicted_speed)).toEqual([46]);
    const none: readonly PastForecast[] = [];
    expect(mergePastForecast(none, batch(10, 44), 45)).toBe(none);
  });

  it('drops forecasts that scrolled out of the range', () => {
    const list = [past(5, 1), past(10, 2), past(15, 3)];
    expect(trimPast(list, at(10) * 1000).map((p) => p.predicted_speed)).toEqual([2, 3]);
    expect(trimPast(list, at(0) * 1000)).toBe(list);
    expect(trimPast(list, at(99) * 1000)).toEqual([]);
  });
});

describe('buildSeries with filled windows', () => {
  const filled = (startMinute: number, speed: number | null, fill: TrafficWindow['fill'], volume: number | null = 100) => ({
    ...win(startMinute, speed, volume),
    fill,
    count: 0,
  });

  it('draws imputed windows in their own column anchored on the measured points beside them', () => {
    const windows = [
      win(0, 50),
      win(5, 49),
      filled(10, 44, 'imputed_neighbours', null),
      filled(15, 43, 'imputed_profile'),
      win(20, 48),
      win(25, 47),
      filled(30, null, 'missing', null),
      win(35, 46),
    ];
    const s = buildSeries({ windows, past: [], fan: [], rangeHours: 3, unit: 'mph' });
    expect(s.x).toEqual([at(5), at(10), at(15), at(20), at(25), at(30), at(35), at(40)]);
    expect(s.speed).toEqual([50, 49, null, null, 48, 47, null, 46]);
    // The measured windows either side of the run anchor it; others are null so runs never join.
    expect(s.imputedSpeed).toEqual([null, 49, 44, 43, 48, null, null, null]);
    expect(s.imputedVolume).toEqual([null, 100, null, 100, 100, null, null, null]);
    expect(s.imputedAt).toEqual([false, false, true, true, false, false, false, false]);
    expect(s.counts).toEqual({ observed: 5, imputed: 2, past: 0, fan: 0 });
    expect(s.fill).toEqual({ total: 8, observed: 5, neighbours: 1, profile: 1, missing: 1, imputed: 2 });
    expect(s.spans.map((span) => span.fill)).toEqual(['imputed_neighbours', 'imputed_profile']);
  });

  it('counts only the windows in the range', () => {
    const windows = [filled(0, 40, 'imputed_profile'), ...Array.from({ length: 13 }, (_, i) => win(5 + i * 5, 50))];
    const s = buildSeries({ windows, past: [], fan: [], rangeHours: 1, unit: 'mph' });
    expect(s.fill.total).toBe(13);
    expect(s.fill.imputed).toBe(0);
    expect(s.imputedSpeed.every((v) => v === undefined || v === null)).toBe(true);
  });

  it('keeps the input fill of a live forecast among the past forecasts', () => {
    const batch = {
      issued_at: iso(0),
      model_version: 'm',
      forecasts: [{ ...fan(0, 15, 40), input_fill: 'imputed_neighbours' as const }],
    };
    expect(mergePastForecast([], batch, 15)[0]?.input_fill).toBe('imputed_neighbours');
  });
});
