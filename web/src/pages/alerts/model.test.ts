import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../types';
import {
  alertFromMessage,
  applyToActive,
  compareNewestFirst,
  EMPTY_FILTERS,
  filterErrors,
  formatAge,
  historyQuery,
  isNewer,
  utcInputToIso,
  withAction,
} from './model';

function alert(id: string, opened: string, overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    alert_id: id,
    alert_type: 'congestion',
    severity: 'minor',
    segment_id: 's1',
    state: 'open',
    opened_at: opened,
    resolved_at: null,
    message: 'slow',
    acknowledged_at: null,
    acknowledged_by: null,
    note: null,
    updated_at: opened,
    ...overrides,
  };
}

describe('historyQuery', () => {
  it('sends only the filters that are set, with the limit', () => {
    expect(historyQuery(EMPTY_FILTERS)).toBe('limit=200');
    const query = new URLSearchParams(
      historyQuery(
        {
          state: 'resolved',
          severity: 'major',
          alertType: 'congestion',
          segmentId: ' I5-N 001/x ',
          from: '2026-01-05T08:10',
          to: '2026-01-05T09:00',
        },
        50,
      ),
    );
    expect(Object.fromEntries(query)).toEqual({
      state: 'resolved',
      severity: 'major',
      alert_type: 'congestion',
      segment_id: 'I5-N 001/x',
      since: '2026-01-05T08:10:00Z',
      until: '2026-01-05T09:00:00Z',
      limit: '50',
    });
  });

  it('leaves out a malformed date rather than sending it', () => {
    const query = historyQuery({ ...EMPTY_FILTERS, state: 'active', from: 'yesterday' });
    expect(query).toBe('state=active&limit=200');
  });
});

describe('filterErrors and dates', () => {
  it('reads datetime-local values as UTC', () => {
    expect(utcInputToIso('2026-01-05T08:10')).toBe('2026-01-05T08:10:00Z');
    expect(utcInputToIso('2026-01-05T08:10:30')).toBe('2026-01-05T08:10:30Z');
    expect(utcInputToIso('2026-13-05T08:10')).toBeNull();
    expect(utcInputToIso('')).toBeNull();
  });

  it('flags an end before the start and malformed dates', () => {
    expect(filterErrors({ ...EMPTY_FILTERS, from: '2026-01-05T09:00', to: '2026-01-05T08:00' })).toEqual({
      to: 'Before the start',
    });
    expect(filterErrors({ ...EMPTY_FILTERS, from: 'x' })).toEqual({ from: 'Not a date and time' });
    expect(filterErrors({ ...EMPTY_FILTERS, from: '2026-01-05T08:00', to: '2026-01-05T08:00' })).toEqual({});
  });
});

describe('the active list', () => {
  const a = alert('a', '2026-01-05T08:00:00Z');
  const b = alert('b', '2026-01-05T08:10:00Z');
  const c = alert('c', '2026-01-05T08:10:00Z');

  it('keeps the server order: newest first, ties by id', () => {
    expect([a, c, b].sort(compareNewestFirst).map((x) => x.alert_id)).toEqual(['b', 'c', 'a']);
  });

  it('adds, replaces and drops alerts as they change', () => {
    let list = applyToActive([], a);
    list = applyToActive(list, c);
    list = applyToActive(list, b);
    expect(list.map((x) => x.alert_id)).toEqual(['b', 'c', 'a']);
    list = applyToActive(list, { ...a, state: 'acknowledged' });
    expect(list.find((x) => x.alert_id === 'a')?.state).toBe('acknowledged');
    expect(list).toHaveLength(3);
    list = applyToActive(list, { ...b, state: 'resolved' });
    expect(list.map((x) => x.alert_id)).toEqual(['c', 'a']);
    // A resolution of an alert the list never had changes nothing.
    expect(applyToActive(list, alert('z', '2026-01-05T09:00:00Z', { state: 'resolved' }))).toEqual(list);
  });

  it('never lets an older message undo a newer change', () => {
    const acked = { ...a, state: 'acknowledged', updated_at: '2026-01-05T08:20:00Z' };
    expect(isNewer(a, acked)).toBe(false); // the "open" message arriving late
    expect(isNewer(acked, a)).toBe(true);
    expect(isNewer({ ...a, state: 'resolved', updated_at: '2026-01-05T08:05:00Z' }, acked)).toBe(true);
    expect(isNewer({ ...acked, note: 'more', updated_at: '2026-01-05T08:25:00Z' }, acked)).toBe(true);
    expect(isNewer(a, undefined)).toBe(true);
  });
});

describe('alertFromMessage', () => {
  it('takes a full record', () => {
    const data = { ...alert('x', '2026-01-05T08:00:00Z'), state: 'acknowledged', note: 'on it' };
    expect(alertFromMessage(data)).toEqual(data);
  });

  it('fills a partial message from what was known and keeps the operator columns', () => {
    const known = alert('x', '2026-01-05T08:00:00Z', { state: 'acknowledged', note: 'crew', acknowledged_at: '2026-01-05T08:05:00Z' });
    const resolved = alertFromMessage(
      { alert_id: 'x', state: 'resolved', resolved_at: '2026-01-05T08:40:00Z', opened_at: known.opened_at },
      known,
    );
    expect(resolved).toMatchObject({ state: 'resolved', note: 'crew', acknowledged_at: '2026-01-05T08:05:00Z' });
  });

  it('rejects what is not an alert', () => {
    expect(alertFromMessage(null)).toBeNull();
    expect(alertFromMessage({ state: 'open' })).toBeNull();
    expect(alertFromMessage({ alert_id: 'x' })).toBeNull(); // no state or time known
    const minimal = alertFromMessage({ alert_id: 'x', state: 'open', opened_at: '2026-01-05T08:00:00Z' });
    expect(minimal).toMatchObject({ note: null, segment_id: null, updated_at: '2026-01-05T08:00:00Z' });
  });

  it('ignores a previous record of another alert', () => {
    const other = alert('other', '2026-01-05T07:00:00Z', { note: 'not mine' });
    expect(alertFromMessage({ alert_id: 'x', state: 'open', opened_at: '2026-01-05T08:00:00Z' }, other)?.note).toBeNull();
  });
});

describe('withAction (optimistic)', () => {
  const now = '2026-01-05T08:30:00Z';
  it('acknowledges, keeping the first acknowledgement and an earlier note without a new one', () => {
    const acked = withAction(alert('a', '2026-01-05T08:00:00Z'), 'acknowledge', 'crew', now);
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledged_at: now, note: 'crew', updated_at: now });
    const again = withAction({ ...acked, acknowledged_at: '2026-01-05T08:10:00Z' }, 'acknowledge', null, now);
    expect(again).toMatchObject({ acknowledged_at: '2026-01-05T08:10:00Z', note: 'crew' });
  });

  it('resolves', () => {
    expect(withAction(alert('a', '2026-01-05T08:00:00Z'), 'resolve', null, now)).toMatchObject({
      state: 'resolved',
      resolved_at: now,
    });
  });
});

describe('formatAge', () => {
  const t = Date.parse('2026-01-05T08:00:00Z');
  it.each([
    [t + 45_000, '45 s'],
    [t + 12 * 60_000, '12 min'],
    [t + (3 * 60 + 5) * 60_000, '3 h 05 min'],
    [t + 52 * 3600_000, '2 d 4 h'],
    [t - 60_000, '0 s'],
  ])('%s → %s', (now, text) => {
    expect(formatAge('2026-01-05T08:00:00Z', now)).toBe(text);
  });

  it('shows a dash for a bad time', () => {
    expect(formatAge('nonsense', t)).toBe('—');
  });
});
