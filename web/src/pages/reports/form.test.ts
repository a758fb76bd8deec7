import { describe, expect, it } from 'vitest';
import { defaultForm, formParams, formProblems, isValid, MAX_SPAN_DAYS, parseForm, requestRange, addDays } from './form';

describe('report form', () => {
  it('defaults to the last seven days with today, by day', () => {
    expect(defaultForm('2026-11-26')).toEqual({ from: '2026-11-20', to: '2026-11-26', period: 'day' });
  });

  it('reads a shared link and falls back on anything invalid', () => {
    const ok = new URLSearchParams({ from: '2026-10-01', to: '2026-10-31', period: 'week' });
    expect(parseForm(ok, '2026-11-26')).toEqual({ from: '2026-10-01', to: '2026-10-31', period: 'week' });
    const bad = new URLSearchParams({ from: '2026-02-30', to: '2026-10-31', period: 'year' });
    expect(parseForm(bad, '2026-11-26')).toEqual(defaultForm('2026-11-26'));
    expect(formParams(parseForm(ok, '2026-11-26'))).toEqual({ from: '2026-10-01', to: '2026-10-31', period: 'week' });
  });

  it('names the field that is wrong and why', () => {
    expect(formProblems({ from: '', to: '2026-11-01', period: 'day' })).toEqual({ from: 'Choose a start date.' });
    expect(formProblems({ from: '2026-11-01', to: 'x', period: 'day' })).toEqual({ to: 'Choose an end date.' });
    expect(formProblems({ from: '2026-11-02', to: '2026-11-01', period: 'day' })).toEqual({
      to: 'The end date is before the start date.',
    });
    expect(isValid({ from: '2026-11-01', to: '2026-11-01', period: 'day' })).toBe(true);
  });

  it('allows exactly the API span and no more', () => {
    const from = '2025-01-01';
    expect(isValid({ from, to: addDays(from, MAX_SPAN_DAYS - 1), period: 'month' })).toBe(true);
    expect(formProblems({ from, to: addDays(from, MAX_SPAN_DAYS), period: 'month' })).toEqual({ to: 'At most 366 days in one report.' });
  });

  it('asks the API for an exclusive end, the day after the last one', () => {
    expect(requestRange({ from: '2026-02-27', to: '2026-02-28', period: 'day' })).toEqual({ start: '2026-02-27', end: '2026-03-01' });
  });
});
