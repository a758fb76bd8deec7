import { describe, expect, it } from 'vitest';
import type { Reading } from '../../types';
import type { AlertRecord, AnalyticsSummary, HorizonAccuracy } from '../../types';
import {
  activeAlerts,
  alertFromMessage,
  applyAlert,
  countBySeverity,
  healthComponents,
  hourlyBuckets,
  mainHorizons,
  networkNow,
  statusTone,
  trendPoint,
} from './model';

const LIMITS = { fastAboveMph: 60, slowBelowMph: 30 };

function reading(speed: number | null, volume: number | null, timestamp = '2026-01-05T08:00:00Z'): Reading {
  return { timestamp, speed, volume, occupancy: null, level_of_service: null };
}

describe('networkNow', () => {
  it('averages speed and sums volume over segments with data only', () => {
    const readings = new Map<string, Reading>([
      ['a', reading(60, 10)],
      ['b', reading(20, 5, '2026-01-05T08:00:30Z')],
      ['c', reading(null, 7)], // volume without speed
      ['d', reading(Number.NaN, Number.NaN)],
      ['e', reading(-3, -1)], // a broken loop: no data, not a jam
      ['unknown', reading(1, 1000)], // not in the network
    ]);
    const now = networkNow(['a', 'b', 'c', 'd', 'e', 'f'], readings, LIMITS);
    expect(now).toEqual({
      segments: 6,
      withSpeed: 2,
      meanSpeedMph: 40,
      withVolume: 3,
      totalVolume: 22,
      congested: 1,
      latestMs: Date.parse('2026-01-05T08:00:30Z'),
    });
  });

  it('counts congestion below the configured limit, the limit itself excluded', () => {
    const readings = new Map<string, Reading>([
      ['a', reading(29.9, null)],
      ['b', reading(30, null)],
      ['c', reading(44, null)],
    ]);
    expect(networkNow(['a', 'b', 'c'], readings, LIMITS).congested).toBe(1);
    expect(networkNow(['a', 'b', 'c'], readings, { fastAboveMph: 60, slowBelowMph: 45 }).congested).toBe(3);
  });

  it('has no figures without data', () => {
    const now = networkNow(['a'], new Map(), LIMITS);
    expect(now.meanSpeedMph).toBeNull();
    expect(now.totalVolume).toBeNull();
    expect(now.latestMs).toBeNull();
    expect(now.congested).toBe(0);
  });
});

function alert(id: string, severity: string, state: string): AlertRecord {
  return {
    alert_id: id,
    alert_type: 'congestion',
    severity,
    segment_id: 'S1',
    state,
    opened_at: '2026-01-05T08:00:00Z',
    resolved_at: null,
    message: null,
    acknowledged_at: null,
    acknowledged_by: null,
    note: null,
    updated_at: '2026-01-05T08:00:00Z',
  };
}

describe('alerts by severity', () => {
  it('counts open and acknowledged alerts per severity, most severe first', () => {
    const alerts = activeAlerts([
      alert('1', 'minor', 'open'),
      alert('2', 'major', 'open'),
      alert('3', 'major', 'acknowledged'),
      alert('4', 'major', 'resolved'),
      alert('5', 'custom', 'open'),
      alert('6', 'critical', 'acknowledged'),
    ]);
    expect(countBySeverity(alerts)).toEqual([
      { severity: 'critical', open: 0, acknowledged: 1, total: 1 },
      { severity: 'major', open: 1, acknowledged: 1, total: 2 },
      { severity: 'minor', open: 1, acknowledged: 0, total: 1 },
      { severity: 'custom', open: 1, acknowledged: 0, total: 1 },
    ]);
  });

  it('applies live changes: a new alert, an acknowledgement, a resolution', () => {
    let alerts = activeAlerts([alert('1', 'minor', 'open')]);
    alerts = applyAlert(alerts, alert('2', 'major', 'open'));
    alerts = applyAlert(alerts, alert('1', 'minor', 'acknowledged'));
    expect(countBySeverity(alerts).map((c) => [c.severity, c.open, c.acknowledged])).toEqual([
      ['major', 1, 0],
      ['minor', 0, 1],
    ]);
    alerts = applyAlert(alerts, alert('2', 'major', 'resolved'));
    expect([...alerts.keys()]).toEqual(['1']);
  });

  it('returns the same map when nothing changes', () => {
    const alerts = activeAlerts([alert('1', 'minor', 'open')]);
    expect(applyAlert(alerts, alert('1', 'minor', 'open'))).toBe(alerts);
    expect(applyAlert(alerts, alert('9', 'minor', 'resolved'))).toBe(alerts);
  });

  it('reads pushed alerts and ignores malformed ones', () => {
    expect(alertFromMessage({ ...alert('1', 'minor', 'open') })?.alert_id).toBe('1');
    expect(alertFromMessage({ alert_id: 1, severity: 'minor', state: 'open' })).toBeNull();
    expect(alertFromMessage({})).toBeNull();
  });
});

function horizon(h: number, mae: number): HorizonAccuracy {
  return {
    horizon_minutes: h,
    n: 10,
    speed_mae: mae,
    speed_rmse: mae,
    speed_mape: null,
    speed_coverage: 0.8,
    recent_mae: null,
    trend: null,
  };
}

describe('mainHorizons', () => {
  it('keeps the headline horizons, sorted', () => {
    const rows = [60, 5, 30, 15, 45, 10].map((h) => horizon(h, h / 10));
    expect(mainHorizons(rows).map((r) => r.horizon_minutes)).toEqual([15, 30, 45, 60]);
  });

  it('falls back to whatever is scored', () => {
    expect(mainHorizons([horizon(10, 1), horizon(5, 1)]).map((r) => r.horizon_minutes)).toEqual([5, 10]);
    expect(mainHorizons([])).toEqual([]);
  });
});

describe('health', () => {
  it('lists components with their status and the reason when unhealthy', () => {
    const list = healthComponents({
      database: { status: 'healthy', latency_ms: 1 },
      stream_processor: { status: 'degraded', last_error: 'boom' },
      'feed:simulator': { status: 'unhealthy', error: 'stopped' },
      odd: { status: 42 } as unknown as { status: string },
    });
    expect(list.map((c) => [c.label, c.status, c.tone, c.detail])).toEqual([
      ['database', 'healthy', 'ok', null],
      ['stream processor', 'degraded', 'warn', 'boom'],
      ['feed: simulator', 'unhealthy', 'bad', 'stopped'],
      ['odd', 'unknown', 'unknown', null],
    ]);
    expect(statusTone(undefined)).toBe('unknown');
  });
});

describe('trend', () => {
  it('makes hourly buckets ending at the 5-minute boundary after the data clock', () => {
    const clock = Date.parse('2026-01-05T08:07:30Z');
    const buckets = hourlyBuckets(clock, 3);
    expect(buckets.map((b) => [new Date(b.startMs).toISOString(), new Date(b.endMs).toISOString()])).toEqual([
      ['2026-01-05T05:10:00.000Z', '2026-01-05T06:10:00.000Z'],
      ['2026-01-05T06:10:00.000Z', '2026-01-05T07:10:00.000Z'],
      ['2026-01-05T07:10:00.000Z', '2026-01-05T08:10:00.000Z'],
    ]);
  });

  it('turns a summary into the network speed and volume per 5 minutes', () => {
    const summary: AnalyticsSummary = {
      summary: { total_events: 10, avg_speed: 51.5, avg_volume: 20, congestion_hours: 0, incident_count: 0 },
      by_segment: [
        { segment_id: 'a', avg_speed: 50, avg_volume: 30, total_events: 5, congestion_hours: 0, traffic_score: 80, incidents: 0 },
        { segment_id: 'b', avg_speed: 53, avg_volume: 10, total_events: 5, congestion_hours: 0, traffic_score: 90, incidents: 0 },
        { segment_id: 'c', avg_speed: null, avg_volume: null, total_events: 0, congestion_hours: 0, traffic_score: null, incidents: 0 },
      ],
      start_date: null,
      end_date: null,
    };
    expect(trendPoint({ startMs: 1, endMs: 2 }, summary)).toEqual({ startMs: 1, speedMph: 51.5, volumePer5Min: 40 });
    const empty = { ...summary, summary: { ...summary.summary, avg_speed: null }, by_segment: [] };
    expect(trendPoint({ startMs: 1, endMs: 2 }, empty)).toEqual({ startMs: 1, speedMph: null, volumePer5Min: null });
  });
});
