import { describe, expect, it } from 'vitest';
import type { ModelSummary } from './api';
import {
  candidateScores,
  chosenCounts,
  chosenLabel,
  describeGrouping,
  describeWindow,
  formatCoverage,
  formatError,
  groupRows,
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

// The shape of a grouped model.json (trafficcast train --groups 3 on pems08), trimmed
// to a few horizons; the third group chose persistence for volume so counts differ.
function scores(mae: Record<string, number>) {
  return { mae, rmse: { '15': 2 }, coverage: { '15': 0.8 } };
}
const grouped: Record<string, unknown> = {
  source: 'pems08-partial',
  candidates: {
    speed: { gbm: { mae: { '15': 1.01, '30': 1.28 } }, persistence: { mae: { '15': 1.09 } }, profile: { mae: { '15': 3.2 } } },
    volume: { gbm: { mae: { '15': 19 } }, persistence: { mae: { '15': 21 } } },
  },
  grouping: { groups: 3, cut_links: 68 },
  groups: [
    {
      name: 'group-000',
      segments: 57,
      train_seconds: 28.764,
      chosen: { speed: 'gbm', volume: 'gbm' },
      validation: { speed: scores({ '5': 0.69, '15': 1.0369, '30': 1.2906, '60': 1.5443 }), volume: scores({ '15': 19.83 }) },
      test: { speed: scores({ '15': 1.2281, '30': 1.5842, '60': 2.0001 }), volume: scores({ '15': 24.08 }) },
    },
    {
      name: 'group-001',
      segments: 57,
      train_seconds: 25.1,
      chosen: { speed: 'gbm', volume: 'gbm' },
      validation: { speed: scores({ '15': 1.13, '30': 1.41, '60': 1.69 }), volume: scores({ '15': 17.65 }) },
      test: { speed: scores({ '15': 1.21, '30': 1.5, '60': 1.88 }), volume: scores({ '15': 18.77 }) },
    },
    {
      name: 'group-002',
      segments: 56,
      train_seconds: 22.0,
      chosen: { speed: 'gbm', volume: 'persistence' },
      // trained without a held-out slice: no test key at all
      validation: { speed: scores({ '15': 0.62, '30': 0.78, '60': 0.97 }), volume: scores({ '15': 17.98 }) },
    },
  ],
};

describe('segment groups', () => {
  it('has one row per group in the metadata order, MAE at 15/30/60 min, null where not scored', () => {
    expect(groupRows(grouped, 'speed')).toEqual([
      { name: 'group-000', segments: 57, chosen: 'gbm', validationMae: [1.0369, 1.2906, 1.5443], testMae: [1.2281, 1.5842, 2.0001] },
      { name: 'group-001', segments: 57, chosen: 'gbm', validationMae: [1.13, 1.41, 1.69], testMae: [1.21, 1.5, 1.88] },
      { name: 'group-002', segments: 56, chosen: 'gbm', validationMae: [0.62, 0.78, 0.97], testMae: [null, null, null] },
    ]);
    expect(groupRows(grouped, 'volume')?.map((r) => [r.chosen, r.validationMae[0], r.validationMae[1]])).toEqual([
      ['gbm', 19.83, null],
      ['gbm', 17.65, null],
      ['persistence', 17.98, null],
    ]);
  });

  it('describes the grouping in one line', () => {
    expect(describeGrouping(grouped)).toBe('3 groups of 170 segments in all, 68 road links cut between groups');
    expect(describeGrouping({ grouping: { groups: 1, cut_links: 1 }, groups: [{ name: 'g', segments: 1 }] })).toBe(
      '1 group of 1 segment in all, 1 road link cut between groups',
    );
  });

  it('counts in how many groups each candidate was chosen', () => {
    expect(chosenCounts(grouped, 'speed')).toEqual({ groups: 3, byKind: { gbm: 3 } });
    expect(chosenCounts(grouped, 'volume')).toEqual({ groups: 3, byKind: { gbm: 2, persistence: 1 } });
    const volume = candidateScores(grouped, 'volume', 'grouped');
    const counts = chosenCounts(grouped, 'volume');
    expect(volume.map((c) => `${c.kind}${chosenLabel(c, counts)}`)).toEqual([
      'gbm (chosen in 2 of 3 groups)',
      'persistence (chosen in 1 of 3 groups)',
    ]);
    expect(chosenLabel({ kind: 'profile', meanMae: 3, chosen: false }, chosenCounts(grouped, 'speed'))).toBe(
      ' (chosen in 0 of 3 groups)',
    );
  });

  it('leaves a single model as it was: no groups, chosen marked by kind', () => {
    const single = { source: 'x', candidates: grouped.candidates, validation: {} };
    expect(groupRows(single, 'speed')).toBeNull();
    expect(chosenCounts(single, 'speed')).toBeNull();
    expect(describeGrouping(single)).toBeNull();
    expect(groupRows(undefined, 'speed')).toBeNull();
    expect(chosenLabel({ kind: 'gbm', meanMae: 1, chosen: true }, null)).toBe(' (chosen)');
    expect(chosenLabel({ kind: 'profile', meanMae: 3, chosen: false }, null)).toBe('');
  });

  it('skips unreadable group records and shows "—" for unreadable fields, never throwing', () => {
    const malformed: Record<string, unknown> = {
      grouping: { groups: 'three', cut_links: -1 },
      groups: [
        null,
        'group-x',
        [1, 2],
        { segments: 4 },
        { name: 42 },
        { name: '' },
        {
          name: 'odd',
          segments: 1.5,
          chosen: ['gbm'],
          validation: { speed: { mae: { '15': 'fast', '30': Number.NaN, '60': 2 } } },
          test: 'none',
        },
        { name: 'bare' },
        { name: 'wrong-nesting', chosen: { speed: 7 }, validation: { speed: [1, 2, 3] }, test: { speed: { mae: [1] } } },
      ],
    };
    const rows = groupRows(malformed, 'speed');
    expect(rows?.map((r) => r.name)).toEqual(['odd', 'bare', 'wrong-nesting']);
    expect(rows?.[0]).toEqual({ name: 'odd', segments: null, chosen: null, validationMae: [null, null, 2], testMae: [null, null, null] });
    expect(rows?.[2]).toMatchObject({ chosen: null, validationMae: [null, null, null], testMae: [null, null, null] });
    expect(chosenCounts(malformed, 'speed')).toEqual({ groups: 3, byKind: {} });
    expect(describeGrouping(malformed)).toBe('3 groups of — segments in all, — road links cut between groups');
    // groups present but not a list: not read as a grouped model
    for (const groups of [{}, 'x', 3, null]) {
      expect(groupRows({ groups }, 'speed')).toBeNull();
      expect(describeGrouping({ groups, grouping: 'x' })).toBeNull();
    }
    // a grouping count that disagrees with the readable records gives no total
    expect(describeGrouping({ grouping: { groups: 4, cut_links: 0 }, groups: [{ name: 'a', segments: 3 }] })).toBe(
      '4 groups of — segments in all, 0 road links cut between groups',
    );
  });
});
