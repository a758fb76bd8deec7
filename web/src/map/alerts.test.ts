import { describe, expect, it } from 'vitest';
import { activeAlerts, alertFeatures, alertFromMessage, alertsBySegment, mergeAlert, severityOf } from './alerts';
import type { AlertRecord } from '../types';

function alert(id: string, segment: string | null, severity: string, state = 'open', opened = '2026-01-05T08:00:00Z'): AlertRecord {
  return {
    alert_id: id,
    alert_type: 'congestion',
    severity,
    segment_id: segment,
    state,
    opened_at: opened,
    resolved_at: null,
    message: `${id} message`,
    acknowledged_at: null,
    acknowledged_by: null,
    note: null,
    updated_at: opened,
  };
}

describe('active alerts', () => {
  it('keeps open and acknowledged alerts only', () => {
    const active = activeAlerts([alert('a', 'S1', 'minor'), alert('b', 'S1', 'major', 'acknowledged'), alert('c', 'S2', 'major', 'resolved')]);
    expect([...active.keys()]).toEqual(['a', 'b']);
  });

  it('adds, updates and removes alerts from live messages', () => {
    let active = activeAlerts([alert('a', 'S1', 'minor')]);
    active = mergeAlert(active, alert('b', 'S2', 'major'));
    expect([...active.keys()]).toEqual(['a', 'b']);
    active = mergeAlert(active, alert('a', 'S1', 'minor', 'resolved'));
    expect([...active.keys()]).toEqual(['b']);
  });

  it('reads a live message, refusing ones without id or state', () => {
    expect(alertFromMessage('S9', { alert_id: 'x', state: 'open', severity: 'major' })).toMatchObject({
      alert_id: 'x',
      segment_id: 'S9',
      severity: 'major',
    });
    expect(alertFromMessage('S9', { state: 'open' })).toBeNull();
    expect(alertFromMessage('S9', { alert_id: 'x' })).toBeNull();
  });
});

describe('alertsBySegment', () => {
  it('counts alerts per segment and keeps the worst, newest first among equals', () => {
    const by = alertsBySegment(
      activeAlerts([
        alert('a', 'S1', 'minor'),
        alert('b', 'S1', 'major', 'open', '2026-01-05T07:00:00Z'),
        alert('c', 'S1', 'major', 'open', '2026-01-05T07:30:00Z'),
        alert('d', null, 'critical'),
      ]),
    );
    expect([...by.keys()]).toEqual(['S1']);
    expect(by.get('S1')).toMatchObject({ severity: 'major', count: 3 });
    expect(by.get('S1')?.top.alert_id).toBe('c');
  });

  it('maps unknown severities to info', () => {
    expect(severityOf('CRITICAL')).toBe('critical');
    expect(severityOf('weird')).toBe('info');
    expect(severityOf(null)).toBe('info');
  });
});

describe('alertFeatures', () => {
  it('places one point per segment at its anchor, skipping unknown segments', () => {
    const by = alertsBySegment(activeAlerts([alert('a', 'S1', 'major'), alert('b', 'GONE', 'minor')]));
    const collection = alertFeatures(by, (id) => (id === 'S1' ? [-118, 34] : undefined));
    expect(collection.features).toEqual([
      {
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [-118, 34] },
        properties: { segment_id: 'S1', severity: 'major', count: 1, rank: 2 },
      },
    ]);
  });
});
