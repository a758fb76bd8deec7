// What the dashboard's uPlot charts share: the dark theme's axes, the UTC clock,
// the dashed guide lines and the React set-up that keeps a plot as wide as its box.
import { useEffect, useRef, type DependencyList, type RefObject } from 'react';
import uPlot from 'uplot';

export const AXIS_COLOR = '#9aa4b2';
export const GRID_COLOR = 'rgba(255, 255, 255, 0.07)';
/** Observed speeds, on the panel's and the segment page's charts. */
export const OBSERVED_COLOR = '#4ea8ff';
/** The current forecast and its band. */
export const FORECAST_COLOR = '#c084fc';

/** An axis in the dark theme; spread it and add `values`, `size`, `label`… */
export const AXIS: Readonly<uPlot.Axis> = {
  stroke: AXIS_COLOR,
  grid: { stroke: GRID_COLOR, width: 1 },
  ticks: { stroke: GRID_COLOR, width: 1 },
  font: '11px system-ui, sans-serif',
};

/** uPlot's `tzDate` for the UTC clock the whole dashboard uses (see format.ts). */
export function utcDate(seconds: number): Date {
  return uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');
}

/** "08:05" (UTC) for a time in epoch seconds, the charts' x unit. */
export function formatAxisTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 16);
}

export interface GuideLines {
  /** Horizontal dashed lines at these y values (those off the plot are skipped). */
  levels: readonly (readonly [value: number, color: string])[];
  levelAlpha: number;
  /** A vertical line at this x (epoch seconds), when it is on the plot. */
  marker: number | null;
  markerAlpha: number;
}

/** Dashed guide lines; call from a `drawAxes` hook. */
export function drawGuides(u: uPlot, guides: GuideLines): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.lineWidth = devicePixelRatio;
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  for (const [value, color] of guides.levels) {
    const y = Math.round(u.valToPos(value, 'y', true));
    if (y < bbox.top || y > bbox.top + bbox.height) continue;
    ctx.strokeStyle = color;
    ctx.globalAlpha = guides.levelAlpha;
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
  }
  const { min, max } = u.scales.x ?? {};
  const x = guides.marker;
  if (x !== null && min != null && max != null && x >= min && x <= max) {
    const left = Math.round(u.valToPos(x, 'x', true));
    ctx.strokeStyle = AXIS_COLOR;
    ctx.globalAlpha = guides.markerAlpha;
    ctx.beginPath();
    ctx.moveTo(left, bbox.top);
    ctx.lineTo(left, bbox.top + bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * A uPlot in the returned container: created by `create(width)` whenever `deps`
 * change, kept as wide as the container, destroyed on unmount. Fill it with
 * `plot.current?.setData(…)` in an effect of its own.
 */
export function useUPlot(
  create: (width: number) => { options: uPlot.Options; data: uPlot.AlignedData },
  deps: DependencyList,
  minWidth = 0,
): { container: RefObject<HTMLDivElement | null>; plot: RefObject<uPlot | null> } {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const { options, data } = create(Math.max(minWidth, element.clientWidth));
    const created = new uPlot(options, data, element);
    plot.current = created;
    const observer = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== created.width) created.setSize({ width, height: created.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      plot.current = null;
    };
    // `create` reads the latest props through refs; `deps` say when to rebuild.
  }, deps);
  return { container, plot };
}
