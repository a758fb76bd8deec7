// Traffic summary per day / week / month: speed and volume chart and the table.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { chartImage } from '../../export/chartImage';
import { exportFilename } from '../../export/filename';
import type { PdfSection } from '../../export/pdf';
import { pdfTableBlock } from '../../export/table';
import { speedUnitLabel, type SpeedUnit } from '../../format';
import type { Period, TrendResponse } from './api';
import { CHART_BACKGROUND, trendLegend, trendOptions } from './charts';
import { DataTable } from './DataTable';
import { CsvButton, PdfButton, useReportSection } from './report';
import { Message, Section, rangeText } from './Section';
import { summaryTable } from './tables';
import { trendChartData } from './transforms';
import { UPlotChart } from './UPlotChart';
import type { Fetched } from './useFetch';

const PERIOD_NAMES: Record<Period, string> = { day: 'day', week: 'week', month: 'month' };

export function SummarySection({ trend, unit }: { trend: Fetched<TrendResponse>; unit: SpeedUnit }) {
  const data = trend.data;
  const period = data?.period ?? 'day';
  const label = speedUnitLabel(unit);
  const table = useMemo(() => (data ? summaryTable(data.buckets, data.period, unit) : null), [data, unit]);
  const chart = useMemo(() => (data ? trendChartData(data.buckets, unit) : null), [data, unit]);
  const options = useMemo(() => trendOptions(period, label), [period, label]);
  const aligned = useMemo<uPlot.AlignedData>(() => (chart ? [chart.x, chart.speed, chart.volume] : [[], [], []]), [chart]);
  const range = data ? { start: data.start_date, end: data.end_date } : null;
  const hasEvents = !!data && data.buckets.some((b) => b.total_events > 0);

  const section = async (): Promise<PdfSection | null> => {
    if (!data || !table || !range) return null;
    return {
      title: `Traffic summary by ${PERIOD_NAMES[data.period]}`,
      subtitle: `${rangeText(range)} · ${data.buckets.length} ${data.period} buckets · speeds in ${label}`,
      blocks: [
        {
          kind: 'chart',
          title: 'Average speed and volume',
          image: await chartImage(options, aligned, CHART_BACKGROUND),
          legend: trendLegend(label),
        },
        pdfTableBlock(table),
      ],
    };
  };
  useReportSection('summary', 1, section);

  const state = trend.error && !data ? 'error' : trend.loading || !data ? 'loading' : 'ready';
  return (
    <Section
      id="trend"
      title={`Traffic summary by ${PERIOD_NAMES[period]}`}
      note={range ? `${rangeText(range)} · totals of the 5-minute windows per UTC ${period}` : 'Loading…'}
      state={state}
      data={{
        period: data?.period,
        start: data?.start_date,
        end: data?.end_date,
        buckets: data?.buckets.length,
        source: trend.path ?? undefined,
      }}
      actions={
        <>
          <CsvButton table={table} testId="csv-summary" filename={exportFilename(['summary', period], range, 'csv')} />
          <PdfButton
            testId="pdf-summary"
            what="the traffic summary"
            build={async () => {
              const s = await section();
              return s && { title: 'Traffic summary', subtitle: s.subtitle ?? '', sections: [s] };
            }}
            filename={() => exportFilename(['summary', period], range, 'pdf')}
          />
        </>
      }
    >
      {trend.error && <Message tone="error">Could not load the summary: {trend.error}</Message>}
      {data && !hasEvents && <Message>No traffic recorded in this range.</Message>}
      {data && table && (
        <div className="analytics-split">
          <div className="analytics-chart-box">
            <UPlotChart
              options={options}
              data={aligned}
              testId="trend-chart"
              label={`Average speed (${label}) and volume per ${period}`}
            />
          </div>
          <DataTable table={table} testId="summary-table" rowKey={(b) => b.start} caption={table.title} />
        </div>
      )}
    </Section>
  );
}

