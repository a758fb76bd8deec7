import { describe, expect, it } from 'vitest';
import { clampHorizon, describeForecast, forecastBySegment } from './forecast';
import type { ForecastLayerRow } from './layerTypes';

function row(id: string, speed: number | null, lo: number | null = null, hi: number | null = null): ForecastLayerRow {
  return {
    segment_id: id,
    issued_at: '2026-01-05T08:00:00Z',
    target_time: '2026-01-05T08:15:00Z',
    predicted_speed: speed,
    speed_lower: lo,
    speed_upper: hi,
    confidence: 0.8,
    model_version: 'm1',
  };
}

describe('clampHorizon', () => {
  it('snaps to 5-minute steps within 15–60', () => {
    expect(clampHorizon(15)).toBe(15);
    expect(clampHorizon(22)).toBe(20);
    expect(clampHorizon(23)).toBe(25);
    expect(clampHorizon(5)).toBe(15);
    expect(clampHorizon(90)).toBe(60);
    expect(clampHorizon(Number.NaN)).toBe(15);
  });
});

describe('forecastBySegment', () => {
  it('indexes rows by segment, the later row winning', () => {
    const map = forecastBySegment([row('A', 50), row('B', 20), row('A', 55)]);
    expect([...map.keys()]).toEqual(['A', 'B']);
    expect(map.get('A')?.predicted_speed).toBe(55);
  });
});

describe('describeForecast', () => {
  it('shows the speed and its interval in the chosen unit', () => {
    expect(describeForecast(row('A', 52.4, 45.2, 58.6), 'mph')).toBe('52 mph (45–59 mph)');
    expect(describeForecast(row('A', 50, 40, 60), 'kmh')).toBe('80 km/h (64–97 km/h)');
    expect(describeForecast(row('A', 50), 'mph')).toBe('50 mph');
  });

  it('shows a dash without a usable forecast', () => {
    expect(describeForecast(undefined, 'mph')).toBe('—');
    expect(describeForecast(row('A', null), 'mph')).toBe('—');
  });
});
