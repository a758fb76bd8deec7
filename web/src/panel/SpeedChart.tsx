// uPlot chart of observed 5-minute mean speed, the latest forecast and its 80 % band.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { BAND_COLORS, type BandThresholds } from '../bands';
import { AXIS, drawGuides, FORECAST_COLOR, formatAxisTime, OBSERVED_COLOR, useUPlot, utcDate } from '../chartKit';
import { convertSpeed, speedUnitLabel, type SpeedUnit } from '../format';
import type { ChartValue, SpeedChartData } from './chartData';

const FORECAST_BAND_FILL = 'rgba(192, 132, 252, 0.2)';
const BAND_EDGE_COLOR = 'rgba(192, 132, 252, 0.45)';
const HEIGHT = 230;
/** As on the segment page (pages/segment/SegmentChart.tsx). */
const IMPUTED_COLOR = '#5eead4';
const HOLLOW = '#161b22';

/** The series in the viewer's unit (the API's speeds are mph). */
function toAligned(data: SpeedChartData, unit: SpeedUnit): uPlot.AlignedData {
  const inUnit = (values: readonly ChartValue[]) => values.map((v) => (v == null ? v : convertSpeed(v, unit)));
  return [data.x, inUnit(data.observed), inUnit(data.forecast), inUnit(data.lower), inUnit(data.upper), inUnit(data.imputed)];
}

function chartOptions(
  width: number,
  issuedAt: { current: number | null },
  imputedAt: { current: readonly boolean[] },
  unit: SpeedUnit,
  limits: BandThresholds,
): uPlot.Options {
  const label = speedUnitLabel(unit);
  const formatValue = (_u: uPlot, value: number | null): string =>
    value == null ? '—' : `${value.toFixed(1)} ${label}`;
  const formatBand = (u: uPlot, low: number | null, _seriesIdx: number, idx: number | null): string => {
    const high = idx === null ? null : u.data[4]?.[idx];
    return low == null || high == null ? '—' : `${Math.round(low)}–${Math.round(high)} ${label}`;
  };
  // Faint guides at the band boundaries (with a marker at the forecast's issue time).
  const bandLimits = [
    [convertSpeed(limits.fastAboveMph, unit), BAND_COLORS.fast],
    [convertSpeed(limits.slowBelowMph, unit), BAND_COLORS.slow],
  ] as const;
  const floor = Math.round(convertSpeed(80, unit));
  return {
    width,
    height: HEIGHT,
    // Same UTC clock as the rest of the page (see format.ts).
    tzDate: utcDate,
    scales: {
      x: { time: true },
      y: {
        range: (_u, _min, max) => [0, Math.max(floor, Math.ceil((max ?? 0) / 10) * 10 + 5)],
      },
    },
    axes: [
      { ...AXIS, values: (_u, splits) => splits.map(formatAxisTime) },
      { ...AXIS, size: 40, values: (_u, splits) => splits.map((v) => `${v}`) },
    ],
    series: [
      { label: 'UTC', value: (_u, v) => (v == null ? '—' : formatAxisTime(v)) },
      { label: 'Observed', stroke: OBSERVED_COLOR, width: 2, value: formatValue, points: { show: false } },
      {
        label: 'Forecast',
        stroke: FORECAST_COLOR,
        width: 2,
        dash: [6, 4],
        value: formatValue,
        points: { show: true, size: 5, fill: FORECAST_COLOR },
      },
      // One legend entry for the band: the lower edge shows "low–high", the upper
      // edge's entry is hidden in CSS (.u-series:nth-child(5)).
      { label: '80% band', stroke: BAND_EDGE_COLOR, width: 1, value: formatBand, points: { show: false } },
      { label: '80% high', stroke: BAND_EDGE_COLOR, width: 1, value: formatValue, points: { show: false } },
      {
        label: 'Imputed',
        stroke: IMPUTED_COLOR,
        width: 1.5,
        dash: [3, 3],
        value: formatValue,
        // Hollow points on the imputed windows only, not on the measured points anchoring the line.
        points: {
          show: true,
          size: 6,
          width: 1.5,
          fill: HOLLOW,
          filter: () => imputedAt.current.flatMap((on, i) => (on ? [i] : [])),
        },
      },
    ],
    bands: [{ series: [4, 3], fill: FORECAST_BAND_FILL }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    hooks: {
      drawAxes: [(u) => drawGuides(u, { levels: bandLimits, levelAlpha: 0.55, marker: issuedAt.current, markerAlpha: 0.6 })],
    },
  };
}

export function SpeedChart({
  data,
  unit,
  limits,
}: {
  data: SpeedChartData;
  unit: SpeedUnit;
  limits: BandThresholds;
}) {
  const issuedAtRef = useRef<number | null>(null);
  const imputedAtRef = useRef<readonly boolean[]>([]);
  const { fastAboveMph, slowBelowMph } = limits;
  // Created empty: the data effect below runs right after and fills it. A new unit or
  // new band limits rebuild the chart (labels, guides and scale change).
  const { container, plot } = useUPlot(
    (width) => ({
      options: chartOptions(width, issuedAtRef, imputedAtRef, unit, { fastAboveMph, slowBelowMph }),
      data: [[], [], [], [], [], []],
    }),
    [unit, fastAboveMph, slowBelowMph],
  );

  useEffect(() => {
    issuedAtRef.current = data.issuedAt;
    imputedAtRef.current = data.imputedAt;
    plot.current?.setData(toAligned(data, unit));
  }, [data, unit, plot, fastAboveMph, slowBelowMph]);

  return <div ref={container} className="speed-chart compact-chart" data-testid="speed-chart" />;
}
