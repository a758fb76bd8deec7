import { describe, expect, it } from 'vitest';
import type { ModelSummary } from './api';
import {
  candidateScores,
  describeWindow,
  formatCoverage,
  formatError,
  headlineMae,
  metricRows,
  modelStatus,
  quantitiesOf,
  scoreAt,
} from './metrics';

function model(overrides: Partial<ModelSummary> = {}): ModelSummary {
  return {
    version: 'gbm-20260105-080000',
    kind: 'gbm',
    created_at: '2026-01-05T08:00:00Z',
    promoted: false,
    live: false,
    training_window: { start: '2026-01-04T08:00:00Z', end: '2026-01-05T08:00:00Z', steps: 288, segments: 300 },
    horizons_minutes: [5, 10, 15, 30, 45, 60],
    validation: {
      speed: { mae: { '15': 2.5, '30': 3.1, '60': 4.2 }, rmse: { '15': 3.5 }, coverage: { '15': 0.79 } },
      volume: { mae: { '15': 12.25 } },
    },
    test: {
      speed: {
        mae: { '15': 2.7, '45': 3.9 },
        baselines: { persistence: { mae: { '15': 3.3 } }, profile: { mae: { '15': 5 } } },
      },
    },
    ...overrides,
  };
}

describe('headline MAE', () => {
  it('reads 15/30/45/60 minutes, null where a horizon was not scored', () => {
    expect(headlineMae(model(), 'validation')).toEqual([2.5, 3.1, null, 4.2]);
    expect(headlineMae(model(), 'test')).toEqual([2.7, null, 3.9, null]);
    expect(headlineMae(model(), 'validation', 'volume')).toEqual([12.25, null, null, null]);
  });

  it('copes with a model without test scores or metadata', () => {
    expect(headlineMae(model({ test: null }), 'test')).toEqual([null, null, null, null]);
    expect(headlineMae(model({ validation: null }), 'validation')).toEqual([null, null, null, null]);
  });

  it('ignores values that are not finite numbers', () => {
    const odd = model({ validation: { speed: { mae: { '15': Number.NaN, '30': 'x' as unknown as number } } } });
    expect(headlineMae(odd, 'validation')).toEqual([null, null, null, null]);
    expect(scoreAt(undefined, 'mae', 15)).toBeNull();
  });
});

describe('metric rows', () => {
  it('has one row per horizon of either slice, ascending, with the persistence baseline', () => {
    const m = model();
    const rows = metricRows(m.validation?.speed, m.test?.speed);
    expect(rows.map((r) => r.horizon)).toEqual([15, 30, 45, 60]);
    expect(rows[0]).toEqual({
      horizon: 15,
      validationMae: 2.5,
      validationRmse: 3.5,
      validationCoverage: 0.79,
      testMae: 2.7,
      testRmse: null,
      testCoverage: null,
      persistenceMae: 3.3,
    });
    expect(rows[2]).toMatchObject({ horizon: 45, validationMae: null, testMae: 3.9 });
  });

  it('is empty without scores', () => {
    expect(metricRows(null, undefined)).toEqual([]);
  });

  it('lists speed first among quantities', () => {
    expect(quantitiesOf({ validation: { volume: {}, speed: {} }, test: null })).toEqual(['speed', 'volume']);
  });
});

describe('formatting', () => {
  it('shows speed errors in the viewer unit and volume errors in vehicles', () => {
    expect(formatError(2.5, 'speed', 'mph')).toBe('2.50');
    expect(formatError(2.5, 'speed', 'kmh')).toBe('4.02');
    expect(formatError(12.25, 'volume', 'kmh')).toBe('12.3');
    expect(formatError(null, 'speed', 'mph')).toBe('—');
    expect(formatError(Number.POSITIVE_INFINITY, 'speed', 'mph')).toBe('—');
  });

  it('shows coverage as a whole percentage', () => {
    expect(formatCoverage(0.7949)).toBe('79 %');
    expect(formatCoverage(null)).toBe('—');
  });

  it('describes the training window', () => {
    expect(describeWindow(model().training_window)).toEqual({
      range: '2026-01-04 08:00 → 2026-01-05 08:00 UTC',
      size: '24 h of 300 segments',
    });
    expect(describeWindow({ start: 'a', end: 'b', steps: 49, segments: 3 }).size).toBe('4 h 5 min of 3 segments');
    expect(describeWindow({ start: 'a', end: 'b', steps: 2016, segments: 3 }).size).toBe('7.0 days of 3 segments');
    expect(describeWindow(null)).toEqual({ range: '—', size: '' });
  });

  it('tells live from merely promoted', () => {
    expect(modelStatus({ live: true, promoted: true })).toBe('live');
    expect(modelStatus({ live: false, promoted: true })).toBe('promoted');
    expect(modelStatus({ live: false, promoted: false })).toBeNull();
  });
});

describe('candidates', () => {
  it('ranks what training tried by mean validation MAE and marks the chosen one', () => {
    const metadata = {
      candidates: {
        speed: {
          persistence: { mae: { '15': 3, '30': 5 } },
          gbm: { mae: { '15': 2, '30': 3 } },
          profile: { mae: {} },
        },
      },
    };
    expect(candidateScores(metadata, 'speed', 'gbm')).toEqual([
      { kind: 'gbm', meanMae: 2.5, chosen: true },
      { kind: 'persistence', meanMae: 4, chosen: false },
      { kind: 'profile', meanMae: null, chosen: false },
    ]);
    expect(candidateScores(metadata, 'volume', 'gbm')).toEqual([]);
    expect(candidateScores(undefined, 'speed', 'gbm')).toEqual([]);
    expect(candidateScores({ candidates: 'x' }, 'speed', 'gbm')).toEqual([]);
  });
});
