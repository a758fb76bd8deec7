// Forecast accuracy over the range: MAE over time per horizon, and the
// whole-range figures per horizon, from stored forecasts scored against the
// windows that later closed.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { chartImage } from '../../export/chartImage';
import { exportFilename } from '../../export/filename';
import type { PdfSection } from '../../export/pdf';
import { pdfTableBlock } from '../../export/table';
import { speedUnitLabel, type SpeedUnit } from '../../format';
import { getJson } from '../../api';
import type { AccuracyResponse } from '../../types';
import { accuracyQuery } from './api';
import { CHART_BACKGROUND, accuracyLegend, accuracyOptions } from './charts';
import { DataTable } from './DataTable';
import { accuracyWindow } from './range';
import { CsvButton, PdfButton, useReportSection } from './report';
import { Message, Section, rangeText } from './Section';
import { accuracyTable } from './tables';
import { chartedHorizons, maeSeries } from './transforms';
import { UPlotChart } from './UPlotChart';
import { useFetch } from './useFetch';

function bucketText(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

export function AccuracySection({ range, unit, version }: { range: { start: string; end: string } | null; unit: SpeedUnit; version: number }) {
  const target = range ? accuracyWindow(range.start, range.end) : null;
  const bucketMinutes = target?.bucketMinutes ?? 60;
  const path = target ? accuracyQuery(target.start, target.end, target.bucketMinutes) : null;
  const shownRange = target ? { start: target.start, end: target.end } : null;
  const accuracy = useFetch<AccuracyResponse>(path, getJson, version);
  const data = accuracy.data;
  const label = speedUnitLabel(unit);

  // Every horizon is in the table; the chart draws the main ones to stay readable.
  const series = useMemo(() => {
    if (!data) return null;
    const all = maeSeries(data.buckets, unit);
    const shown = chartedHorizons(all.horizons);
    return { x: all.x, horizons: shown, mae: shown.map((h) => all.mae[all.horizons.indexOf(h)]!) };
  }, [data, unit]);
  const horizonsKey = series?.horizons.join(',') ?? '';
  const options = useMemo(
    () => accuracyOptions(horizonsKey ? horizonsKey.split(',').map(Number) : [], label),
    [horizonsKey, label],
  );
  const aligned = useMemo<uPlot.AlignedData>(() => (series ? [series.x, ...series.mae] : [[]]), [series]);
  const table = useMemo(() => (data ? accuracyTable(data.by_horizon, unit) : null), [data, unit]);

  const section = async (): Promise<PdfSection | null> => {
    if (!data || !table || !range || !series) return null;
    return {
      title: 'Prediction accuracy',
      subtitle: `${rangeText(shownRange ?? range)} · ${bucketText(data.bucket_minutes)} buckets by target time · errors in ${label}`,
      blocks: [
        {
          kind: 'chart',
          title: 'Mean absolute error over time, per horizon',
          image: await chartImage(options, aligned, CHART_BACKGROUND),
          legend: accuracyLegend(series.horizons),
        },
        pdfTableBlock(table),
      ],
    };
  };
  useReportSection('accuracy', 3, section);

  const state = accuracy.error && !data ? 'error' : accuracy.loading || !data ? 'loading' : 'ready';
  return (
    <Section
      id="accuracy"
      title="Prediction accuracy"
      note={shownRange ? `${rangeText(shownRange)} · ${bucketText(bucketMinutes)} buckets by target time` : 'Waiting for the range…'}
      state={state}
      data={{
        start: data?.start_time,
        end: data?.end_time,
        'bucket-minutes': data?.bucket_minutes,
        source: accuracy.path ?? undefined,
      }}
      actions={
        <>
          <CsvButton table={table} testId="csv-accuracy" filename={exportFilename(['accuracy', 'by-horizon'], range, 'csv')} />
          <PdfButton
            testId="pdf-accuracy"
            what="prediction accuracy"
            build={async () => {
              const s = await section();
              return s && { title: 'Prediction accuracy', subtitle: s.subtitle ?? '', sections: [s] };
            }}
            filename={() => exportFilename(['accuracy'], range, 'pdf')}
          />
        </>
      }
    >
      {accuracy.error && <Message tone="error">Could not load the accuracy: {accuracy.error}</Message>}
      {data && data.by_horizon.length === 0 && <Message>No forecast has been scored in this range yet.</Message>}
      {data && series && series.x.length > 0 && (
        <div className="analytics-chart-box">
          <UPlotChart options={options} data={aligned} testId="accuracy-chart" label={`Forecast MAE (${label}) over time per horizon`} />
        </div>
      )}
      {table && table.rows.length > 0 && (
        <DataTable table={table} testId="accuracy-table" rowKey={(r) => String(r.horizon_minutes)} caption={table.title} />
      )}
    </Section>
  );
}
