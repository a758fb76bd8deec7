import { describe, expect, it } from 'vitest';
import type { TrainingJob } from './api';
import { elapsed, isActive, parseDays, progressLabel, progressPercent } from './jobs';

function job(overrides: Partial<TrainingJob> = {}): TrainingJob {
  return {
    job_id: 'j1',
    state: 'running',
    stage: 'training speed: gbm (5/12)',
    progress: 0.4261,
    days: 7,
    source: 'store:last 7 days',
    created_at: '2026-01-05T08:00:00Z',
    started_at: '2026-01-05T08:00:00Z',
    finished_at: null,
    version: null,
    promoted: false,
    error: null,
    ...overrides,
  };
}

describe('progress', () => {
  it('is a whole percent that reaches 100 only when done', () => {
    expect(progressPercent(job())).toBe(42);
    expect(progressPercent(job({ progress: 0.999 }))).toBe(99);
    expect(progressPercent(job({ progress: 1 }))).toBe(99);
    expect(progressPercent(job({ state: 'succeeded', progress: 1 }))).toBe(100);
    expect(progressPercent(job({ progress: -1 }))).toBe(0);
    expect(progressPercent(job({ progress: Number.NaN }))).toBe(0);
  });

  it('says what the job does', () => {
    expect(progressLabel(job())).toBe('42 % · training speed: gbm (5/12)');
    expect(progressLabel(job({ state: 'queued' }))).toBe('Queued');
    expect(progressLabel(job({ state: 'succeeded', version: 'gbm-1' }))).toBe('Done · registered gbm-1');
    expect(progressLabel(job({ state: 'failed', error: 'too little history' }))).toBe('Failed: too little history');
  });

  it('knows which jobs are still going', () => {
    expect(isActive(job())).toBe(true);
    expect(isActive(job({ state: 'queued' }))).toBe(true);
    expect(isActive(job({ state: 'failed' }))).toBe(false);
    expect(isActive(null)).toBe(false);
  });
});

describe('elapsed', () => {
  const start = Date.parse('2026-01-05T08:00:00Z');
  it('counts to now while running and to the finish when done', () => {
    expect(elapsed(job(), start + 45_000)).toBe('45 s');
    expect(elapsed(job(), start + 185_000)).toBe('3 min 05 s');
    expect(elapsed(job({ finished_at: '2026-01-05T09:02:00Z' }), 0)).toBe('1 h 02 min');
    expect(elapsed(job({ started_at: null }), start)).toBe('');
  });
});

describe('days field', () => {
  it('takes whole days from 1 to 56', () => {
    expect(parseDays('7')).toEqual({ days: 7 });
    expect(parseDays(' 56 ')).toEqual({ days: 56 });
    for (const bad of ['0', '57', '', '1.5', '-3', 'abc', '1e3']) expect(parseDays(bad)).toHaveProperty('error');
  });
});
