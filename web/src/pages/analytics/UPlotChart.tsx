// A uPlot chart that fills its container's width. The plot is rebuilt when its
// options change (unit, series) and only refilled when the data changes.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface UPlotChartProps {
  options: Omit<uPlot.Options, 'width'>;
  data: uPlot.AlignedData;
  label: string;
  testId?: string;
}

export function UPlotChart({ options, data, label, testId }: UPlotChartProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const localRef = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return undefined;
    const plot = new uPlot({ ...options, width: Math.max(200, container.clientWidth) }, dataRef.current, container);
    localRef.current = plot;
    const observer = new ResizeObserver(() => {
      const width = container.clientWidth;
      if (width > 0 && width !== plot.width) plot.setSize({ width, height: options.height });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      plot.destroy();
      localRef.current = null;
    };
  }, [options]);

  useEffect(() => {
    localRef.current?.setData(data);
  }, [data]);

  return <div ref={containerRef} className="analytics-chart" role="img" aria-label={label} data-testid={testId} />;
}
