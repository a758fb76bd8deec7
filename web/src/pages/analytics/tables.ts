// The page's tables, each one description for the screen, the CSV and the PDF
// (export/table.ts). CSV values are raw numbers in the units their headers name.
import type { Column, TableSpec } from '../../export/table';
import { convertSpeed, formatSpeed, speedUnitLabel, type SpeedUnit } from '../../format';
import type { HorizonAccuracy, Period, SystemStats, TrendBucket } from './api';
import {
  bucketLabel,
  formatCount,
  formatDuration,
  formatFixed,
  formatPercent,
  type HealthRow,
  type RankKey,
  type RankedSegment,
} from './transforms';

export interface ScreenColumn<Row> extends Column<Row> {
  /** Set on columns the user can sort by (the ranking). */
  sortKey?: RankKey;
}

export interface ScreenTable<Row> extends TableSpec<Row> {
  columns: readonly ScreenColumn<Row>[];
}

const speedIn = (unit: SpeedUnit) => (mph: number | null) => (mph == null || !Number.isFinite(mph) ? null : convertSpeed(mph, unit));

export function summaryTable(buckets: readonly TrendBucket[], period: Period, unit: SpeedUnit): ScreenTable<TrendBucket> {
  const speed = speedIn(unit);
  const label = speedUnitLabel(unit);
  return {
    title: `Traffic summary by ${period}`,
    rows: buckets,
    columns: [
      {
        id: 'bucket',
        header: period === 'day' ? 'Day' : period === 'week' ? 'Week (Mon–Sun)' : 'Month',
        csvHeader: 'bucket_start (UTC date)',
        value: (b) => b.start.slice(0, 10),
        format: (b) => bucketLabel(b, period),
      },
      {
        id: 'events',
        header: 'Events',
        csvHeader: 'events (count)',
        value: (b) => b.total_events,
        format: (b) => formatCount(b.total_events),
        align: 'right',
      },
      {
        id: 'avg_speed',
        header: `Avg speed (${label})`,
        csvHeader: `avg_speed (${label})`,
        value: (b) => speed(b.avg_speed),
        format: (b) => formatSpeed(b.avg_speed, unit),
        align: 'right',
      },
      {
        id: 'avg_volume',
        header: 'Avg volume (veh/5 min)',
        csvHeader: 'avg_volume (vehicles per 5 min)',
        value: (b) => b.avg_volume,
        format: (b) => formatFixed(b.avg_volume, 1),
        align: 'right',
      },
      {
        id: 'congestion_hours',
        header: 'Congestion (h)',
        csvHeader: 'congestion (segment-hours at LOS E/F)',
        value: (b) => b.congestion_hours,
        format: (b) => formatFixed(b.congestion_hours, 1),
        align: 'right',
      },
      {
        id: 'incidents',
        header: 'Incidents',
        csvHeader: 'incidents (count)',
        value: (b) => b.incident_count,
        format: (b) => formatCount(b.incident_count),
        align: 'right',
      },
    ],
  };
}

export interface RankRow extends RankedSegment {
  rank: number;
}

export function rankingTable(rows: readonly RankRow[], unit: SpeedUnit): ScreenTable<RankRow> {
  const speed = speedIn(unit);
  const label = speedUnitLabel(unit);
  return {
    title: 'Segment performance ranking',
    rows,
    columns: [
      { id: 'rank', header: '#', csvHeader: 'rank', value: (r) => r.rank, align: 'right' },
      { id: 'name', header: 'Segment', csvHeader: 'segment_name', value: (r) => r.name, sortKey: 'name' },
      { id: 'segment_id', header: 'ID', csvHeader: 'segment_id', value: (r) => r.segment_id },
      {
        id: 'traffic_score',
        header: 'Score',
        csvHeader: 'traffic_score (0-100, speed vs free flow)',
        value: (r) => r.traffic_score,
        format: (r) => formatFixed(r.traffic_score, 1),
        align: 'right',
        sortKey: 'traffic_score',
      },
      {
        id: 'avg_speed',
        header: `Avg speed (${label})`,
        csvHeader: `avg_speed (${label})`,
        value: (r) => speed(r.avg_speed),
        format: (r) => formatSpeed(r.avg_speed, unit),
        align: 'right',
        sortKey: 'avg_speed',
      },
      {
        id: 'avg_volume',
        header: 'Avg volume',
        csvHeader: 'avg_volume (vehicles per 5 min)',
        value: (r) => r.avg_volume,
        format: (r) => formatFixed(r.avg_volume, 1),
        align: 'right',
        sortKey: 'avg_volume',
      },
      {
        id: 'total_events',
        header: 'Events',
        csvHeader: 'events (count)',
        value: (r) => r.total_events,
        format: (r) => formatCount(r.total_events),
        align: 'right',
        sortKey: 'total_events',
      },
      {
        id: 'congestion_hours',
        header: 'Congestion (h)',
        csvHeader: 'congestion (hours at LOS E/F)',
        value: (r) => r.congestion_hours,
        format: (r) => formatFixed(r.congestion_hours, 1),
        align: 'right',
        sortKey: 'congestion_hours',
      },
      {
        id: 'incidents',
        header: 'Incidents',
        csvHeader: 'incidents (count)',
        value: (r) => r.incidents,
        format: (r) => formatCount(r.incidents),
        align: 'right',
        sortKey: 'incidents',
      },
    ],
  };
}

export function accuracyTable(rows: readonly HorizonAccuracy[], unit: SpeedUnit): ScreenTable<HorizonAccuracy> {
  const speed = speedIn(unit);
  const label = speedUnitLabel(unit);
  return {
    title: 'Forecast accuracy by horizon',
    rows,
    columns: [
      {
        id: 'horizon',
        header: 'Horizon',
        csvHeader: 'horizon (minutes)',
        value: (r) => r.horizon_minutes,
        format: (r) => `${r.horizon_minutes} min`,
        align: 'right',
      },
      { id: 'n', header: 'Scored', csvHeader: 'forecasts_scored (count)', value: (r) => r.n, format: (r) => formatCount(r.n), align: 'right' },
      {
        id: 'mae',
        header: `MAE (${label})`,
        csvHeader: `speed_mae (${label})`,
        value: (r) => speed(r.speed_mae),
        format: (r) => formatFixed(speed(r.speed_mae), 2),
        align: 'right',
      },
      {
        id: 'rmse',
        header: `RMSE (${label})`,
        csvHeader: `speed_rmse (${label})`,
        value: (r) => speed(r.speed_rmse),
        format: (r) => formatFixed(speed(r.speed_rmse), 2),
        align: 'right',
      },
      {
        id: 'mape',
        header: 'MAPE',
        csvHeader: 'speed_mape (percent)',
        value: (r) => r.speed_mape,
        format: (r) => (r.speed_mape == null ? '—' : `${r.speed_mape.toFixed(1)} %`),
        align: 'right',
      },
      {
        id: 'coverage',
        header: '80% band coverage',
        csvHeader: 'speed_coverage (share 0-1)',
        value: (r) => r.speed_coverage,
        format: (r) => formatPercent(r.speed_coverage),
        align: 'right',
      },
      {
        id: 'recent_mae',
        header: `Recent MAE (${label})`,
        csvHeader: `recent_mae (${label})`,
        value: (r) => speed(r.recent_mae),
        format: (r) => formatFixed(speed(r.recent_mae), 2),
        align: 'right',
      },
      {
        id: 'trend',
        header: 'Trend',
        csvHeader: 'trend (recent / range MAE)',
        value: (r) => r.trend,
        format: (r) => (r.trend == null ? '—' : `×${r.trend.toFixed(2)}`),
        align: 'right',
      },
    ],
  };
}

export interface CounterRow {
  metric: string;
  value: number | null;
  unit: string;
  text: string;
}

/** The stats' counters as rows; pipeline counters are null on an API-only process. */
export function counterRows(stats: SystemStats): CounterRow[] {
  const row = (metric: string, value: number | null, unit: string, text: string): CounterRow => ({ metric, value, unit, text });
  return [
    row('Uptime', stats.uptime_seconds, 'seconds', formatDuration(stats.uptime_seconds)),
    row('Throughput (last minute)', stats.events_per_second, 'events per second', `${formatFixed(stats.events_per_second, 1)} /s`),
    row('Events ingested', stats.events_total, 'count', formatCount(stats.events_total)),
    row('Late events', stats.late_events_total, 'count', formatCount(stats.late_events_total)),
    row('Windows closed', stats.windows_total, 'count', formatCount(stats.windows_total)),
    row('Forecasts made', stats.predictions_total, 'count', formatCount(stats.predictions_total)),
    row('Open alerts', stats.alerts_open, 'count', formatCount(stats.alerts_open)),
    row('WebSocket clients', stats.websocket_clients, 'count', formatCount(stats.websocket_clients)),
  ];
}

export function countersTable(rows: readonly CounterRow[]): ScreenTable<CounterRow> {
  return {
    title: 'System counters',
    rows,
    columns: [
      { id: 'metric', header: 'Metric', csvHeader: 'metric', value: (r) => r.metric },
      { id: 'value', header: 'Value', csvHeader: 'value', value: (r) => r.value, format: (r) => r.text, align: 'right' },
      { id: 'unit', header: 'Unit', csvHeader: 'unit', value: (r) => r.unit },
    ],
  };
}

export function healthTable(rows: readonly HealthRow[]): ScreenTable<HealthRow> {
  return {
    title: 'Component health',
    rows,
    columns: [
      { id: 'component', header: 'Component', csvHeader: 'component', value: (r) => r.component },
      { id: 'status', header: 'Status', csvHeader: 'status', value: (r) => r.status },
      { id: 'detail', header: 'Details', csvHeader: 'details', value: (r) => r.detail || null },
    ],
  };
}
