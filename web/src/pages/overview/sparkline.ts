// SVG sparklines: a path through evenly spaced values, broken where a value is missing.
// Small enough that the overview needs no chart library on its first load.

export interface Sparkline {
  /** The line's path ("M … L …"); one subpath per run of known values. */
  d: string;
  /** Values with no known neighbour, drawn as dots (a path of one point shows nothing). */
  dots: [number, number][];
  min: number | null;
  max: number | null;
}

export interface SparklineOptions {
  width: number;
  height: number;
  /** Space kept free at the edges so the stroke is not clipped. */
  padding?: number;
  /** Draw from 0 instead of from the smallest value (counts, rates). */
  fromZero?: boolean;
}

const round = (v: number) => Math.round(v * 10) / 10;

export function sparkline(values: readonly (number | null)[], options: SparklineOptions): Sparkline {
  const { width, height, padding = 2, fromZero = false } = options;
  const known = values.filter((v): v is number => v != null && Number.isFinite(v));
  if (known.length === 0) return { d: '', dots: [], min: null, max: null };
  const min = fromZero ? Math.min(0, ...known) : Math.min(...known);
  const max = Math.max(...known);
  const span = max - min;
  const xStep = values.length > 1 ? (width - 2 * padding) / (values.length - 1) : 0;
  const x = (i: number) => round(values.length > 1 ? padding + i * xStep : width / 2);
  // A flat line sits in the middle rather than on an edge.
  const y = (v: number) => round(span > 0 ? height - padding - ((v - min) / span) * (height - 2 * padding) : height / 2);

  const parts: string[] = [];
  const dots: [number, number][] = [];
  let run: [number, number][] = [];
  const flush = () => {
    if (run.length === 1) dots.push(run[0] as [number, number]);
    else if (run.length > 1) parts.push(run.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${px} ${py}`).join(' '));
    run = [];
  };
  values.forEach((v, i) => {
    if (v == null || !Number.isFinite(v)) flush();
    else run.push([x(i), y(v)]);
  });
  flush();
  return { d: parts.join(' '), dots, min, max };
}
