// The page's tables, each one description for the screen, the CSV and the PDF
// (export/table.ts). CSV values are raw numbers in the units their headers name.
import type { Column, TableSpec } from '../../export/table';
import { convertSpeed, formatSpeed, speedUnitLabel, type SpeedUnit } from '../../format';
import type { HorizonAccuracy, SystemStats } from '../../types';
import type { Period, TrendBucket } from './api';
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

/** What names a column: its id, headers and (on the ranking) its sort key. */
type ColumnHead<Row> = Pick<ScreenColumn<Row>, 'id' | 'header' | 'csvHeader' | 'sortKey'>;

/** A right-aligned number: the raw value in the CSV, `show(value)` on screen and in the PDF. */
function numberColumn<Row>(
  head: ColumnHead<Row>,
  get: (row: Row) => number | null,
  show: (value: number | null) => string,
): ScreenColumn<Row> {
  return { ...head, value: get, format: (row) => show(get(row)), align: 'right' };
}

const fixed = (digits: number) => (value: number | null) => formatFixed(value, digits);

/** A speed the API gives in mph: the CSV holds it in `unit`, the screen rounds it ("57 mph"). */
function speedColumn<Row>(head: ColumnHead<Row>, get: (row: Row) => number | null, unit: SpeedUnit): ScreenColumn<Row> {
  const speed = speedIn(unit);
  return { ...head, value: (row) => speed(get(row)), format: (row) => formatSpeed(get(row), unit), align: 'right' };
}

export function summaryTable(buckets: readonly TrendBucket[], period: Period, unit: SpeedUnit): ScreenTable<TrendBucket> {
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
      numberColumn({ id: 'events', header: 'Events', csvHeader: 'events (count)' }, (b) => b.total_events, formatCount),
      speedColumn({ id: 'avg_speed', header: `Avg speed (${label})`, csvHeader: `avg_speed (${label})` }, (b) => b.avg_speed, unit),
      numberColumn(
        { id: 'avg_volume', header: 'Avg volume (veh/5 min)', csvHeader: 'avg_volume (vehicles per 5 min)' },
        (b) => b.avg_volume,
        fixed(1),
      ),
      numberColumn(
        { id: 'congestion_hours', header: 'Congestion (h)', csvHeader: 'congestion (segment-hours at LOS E/F)' },
        (b) => b.congestion_hours,
        fixed(1),
      ),
      numberColumn({ id: 'incidents', header: 'Incidents', csvHeader: 'incidents (count)' }, (b) => b.incident_count, formatCount),
    ],
  };
}

export interface RankRow extends RankedSegment {
  rank: number;
}

export function rankingTable(rows: readonly RankRow[], unit: SpeedUnit): ScreenTable<RankRow> {
  const label = speedUnitLabel(unit);
  // Every figure sorts by its own field.
  const sorted = (id: RankKey, header: string, csvHeader: string): ColumnHead<RankRow> => ({ id, header, csvHeader, sortKey: id });
  return {
    title: 'Segment performance ranking',
    rows,
    columns: [
      { id: 'rank', header: '#', csvHeader: 'rank', value: (r) => r.rank, align: 'right' },
      { id: 'name', header: 'Segment', csvHeader: 'segment_name', value: (r) => r.name, sortKey: 'name' },
      { id: 'segment_id', header: 'ID', csvHeader: 'segment_id', value: (r) => r.segment_id },
      numberColumn(sorted('traffic_score', 'Score', 'traffic_score (0-100, speed vs free flow)'), (r) => r.traffic_score, fixed(1)),
      speedColumn(sorted('avg_speed', `Avg speed (${label})`, `avg_speed (${label})`), (r) => r.avg_speed, unit),
      numberColumn(sorted('avg_volume', 'Avg volume', 'avg_volume (vehicles per 5 min)'), (r) => r.avg_volume, fixed(1)),
      numberColumn(sorted('total_events', 'Events', 'events (count)'), (r) => r.total_events, formatCount),
      numberColumn(sorted('congestion_hours', 'Congestion (h)', 'congestion (hours at LOS E/F)'), (r) => r.congestion_hours, fixed(1)),
      numberColumn(sorted('incidents', 'Incidents', 'incidents (count)'), (r) => r.incidents, formatCount),
    ],
  };
}

export function accuracyTable(rows: readonly HorizonAccuracy[], unit: SpeedUnit): ScreenTable<HorizonAccuracy> {
  const speed = speedIn(unit);
  const label = speedUnitLabel(unit);
  /** A speed error in `unit`, two decimals on screen. */
  const error = (id: string, header: string, csvHeader: string, get: (r: HorizonAccuracy) => number | null) =>
    numberColumn<HorizonAccuracy>({ id, header: `${header} (${label})`, csvHeader: `${csvHeader} (${label})` }, (r) => speed(get(r)), fixed(2));
  return {
    title: 'Forecast accuracy by horizon',
    rows,
    columns: [
      numberColumn({ id: 'horizon', header: 'Horizon', csvHeader: 'horizon (minutes)' }, (r) => r.horizon_minutes, (h) => `${h} min`),
      numberColumn({ id: 'n', header: 'Scored', csvHeader: 'forecasts_scored (count)' }, (r) => r.n, formatCount),
      error('mae', 'MAE', 'speed_mae', (r) => r.speed_mae),
      error('rmse', 'RMSE', 'speed_rmse', (r) => r.speed_rmse),
      numberColumn({ id: 'mape', header: 'MAPE', csvHeader: 'speed_mape (percent)' }, (r) => r.speed_mape, (v) =>
        v == null ? '—' : `${v.toFixed(1)} %`,
      ),
      numberColumn(
        { id: 'coverage', header: '80% band coverage', csvHeader: 'speed_coverage (share 0-1)' },
        (r) => r.speed_coverage,
        formatPercent,
      ),
      error('recent_mae', 'Recent MAE', 'recent_mae', (r) => r.recent_mae),
      numberColumn({ id: 'trend', header: 'Trend', csvHeader: 'trend (recent / range MAE)' }, (r) => r.trend, (v) =>
        v == null ? '—' : `×${v.toFixed(2)}`,
      ),
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
