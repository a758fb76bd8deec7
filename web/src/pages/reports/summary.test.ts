import { describe, expect, it } from 'vitest';
import type { Measures } from './api';
import { delayKeys, formatNumber, headline, localDate, localRangeText, losBreakdown, periodLabel } from './summary';

const measures: Measures = {
  windows: 10,
  vmt: 12345.678,
  vht: 234.5,
  delay_vehicle_hours: { '60': 40.04, '35': 3.25 },
  travel_time_index: 1.234,
  mean_speed: 52.6,
  congestion_hours: 2.55,
  los_hours: { A: 1, C: 3 },
};

describe('report figures', () => {
  it('formats numbers with grouping and a dash for nothing', () => {
    expect(formatNumber(12345.678)).toBe('12,346');
    expect(formatNumber(1.234, 2)).toBe('1.23');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('—');
  });

  it('labels periods by their local start', () => {
    // Midnight in Los Angeles is 08:00 UTC in November.
    expect(localDate('2026-11-16T08:00:00Z', 'America/Los_Angeles')).toBe('2026-11-16');
    expect(periodLabel('2026-11-16T08:00:00Z', 'week', 'America/Los_Angeles')).toBe('week of 2026-11-16');
    expect(periodLabel('2026-11-01T07:00:00Z', 'month', 'America/Los_Angeles')).toBe('2026-11');
    expect(periodLabel('2026-11-20T08:00:00Z', 'day', 'America/Los_Angeles')).toBe('2026-11-20');
    expect(localRangeText('2026-11-16T08:00:00Z', '2026-11-23T08:00:00Z', 'America/Los_Angeles')).toBe('2026-11-16 – 2026-11-22');
    expect(localRangeText('2026-11-16T08:00:00Z', '2026-11-17T08:00:00Z', 'America/Los_Angeles')).toBe('2026-11-16');
  });

  it('orders delays by the reference speeds, then any others', () => {
    expect(delayKeys(measures.delay_vehicle_hours, [35, 60])).toEqual(['35', '60']);
    expect(delayKeys({ '50': 1, '60': 2, '35': 3 }, [60])).toEqual(['60', '35', '50']);
  });

  it('fills missing grades and gives shares of the total', () => {
    const los = losBreakdown(measures.los_hours);
    expect(los.map((l) => l.grade)).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(los[2]).toEqual({ grade: 'C', hours: 3, share: 0.75 });
    expect(losBreakdown({}).every((l) => l.share === 0)).toBe(true);
  });

  it('lists the headline figures, one delay per reference speed, ignoring extra fields', () => {
    const withExtra = { ...measures, incidents: 4 } as Measures;
    expect(headline(withExtra, [35, 60], (v) => `${v} mph`)).toEqual([
      { id: 'vmt', label: 'Vehicle-miles travelled', value: '12,346' },
      { id: 'vht', label: 'Vehicle-hours travelled', value: '235' },
      { id: 'delay-35', label: 'Delay vs 35 mph (veh-h)', value: '3.3' },
      { id: 'delay-60', label: 'Delay vs 60 mph (veh-h)', value: '40.0' },
      { id: 'tti', label: 'Travel-time index', value: '1.23' },
      { id: 'congestion', label: 'Congestion hours', value: '2.6' },
    ]);
  });
});
