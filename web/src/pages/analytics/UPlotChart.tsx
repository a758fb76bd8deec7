// A uPlot chart that fills its container's width. The plot is rebuilt when its
// options change (unit, series) and only refilled when the data changes.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { useUPlot } from '../../chartKit';

export interface UPlotChartProps {
  options: Omit<uPlot.Options, 'width'>;
  data: uPlot.AlignedData;
  label: string;
  testId?: string;
}

export function UPlotChart({ options, data, label, testId }: UPlotChartProps) {
  const dataRef = useRef(data);
  dataRef.current = data;
  const { container, plot } = useUPlot((width) => ({ options: { ...options, width }, data: dataRef.current }), [options], 200);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={container} className="analytics-chart" role="img" aria-label={label} data-testid={testId} />;
}
