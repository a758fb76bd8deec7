// A small SVG trend line (see sparkline.ts); the label is its text alternative.
import { sparkline } from './sparkline';

const WIDTH = 220;
const HEIGHT = 40;

export function Sparkline({
  values,
  label,
  fromZero = false,
}: {
  values: readonly (number | null)[];
  label: string;
  fromZero?: boolean;
}) {
  const line = sparkline(values, { width: WIDTH, height: HEIGHT, fromZero });
  return (
    <svg
      className="overview-sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
      data-points={values.length}
    >
      {line.d && <path d={line.d} fill="none" stroke="currentColor" strokeWidth={1.5} vectorEffect="non-scaling-stroke" />}
      {line.dots.map(([x, y]) => (
        <circle key={`${x},${y}`} cx={x} cy={y} r={2} fill="currentColor" />
      ))}
      {!line.d && line.dots.length === 0 && (
        <text x={WIDTH / 2} y={HEIGHT / 2 + 4} textAnchor="middle" className="overview-sparkline-empty">
          no data yet
        </text>
      )}
    </svg>
  );
}
