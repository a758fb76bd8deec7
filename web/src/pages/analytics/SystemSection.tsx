// How the system runs now: throughput over the last minutes, pipeline counters,
// and the health of each component.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { chartImage } from '../../export/chartImage';
import { exportFilename } from '../../export/filename';
import type { PdfBlock, PdfSection } from '../../export/pdf';
import { pdfTableBlock } from '../../export/table';
import { fetchHealth, fetchSystemStats } from '../../api';
import type { HealthResponse, SystemStats } from '../../types';
import { CHART_BACKGROUND, THROUGHPUT_COLOR, throughputOptions } from './charts';
import { DataTable } from './DataTable';
import { CsvButton, PdfButton, useReportSection } from './report';
import { Message, Section } from './Section';
import { counterRows, countersTable, healthTable } from './tables';
import { healthRows } from './transforms';
import { UPlotChart } from './UPlotChart';
import { useFetch } from './useFetch';

const STATS_INTERVAL_MS = 10_000;
const HEALTH_INTERVAL_MS = 15_000;

const loadStats = (_path: string, signal: AbortSignal) => fetchSystemStats(signal);
const loadHealth = (_path: string, signal: AbortSignal) => fetchHealth(signal);

function statusClass(status: string): string {
  return status === 'healthy' ? 'analytics-ok' : status === 'degraded' ? 'analytics-warn' : 'analytics-bad';
}

export function SystemSection({ version }: { version: number }) {
  const stats = useFetch<SystemStats>('/api/system/stats', loadStats, version, STATS_INTERVAL_MS);
  const health = useFetch<HealthResponse>('/health', loadHealth, version, HEALTH_INTERVAL_MS);
  const options = useMemo(() => throughputOptions(), []);
  const aligned = useMemo<uPlot.AlignedData>(() => {
    const history = stats.data?.history ?? [];
    return [history.map((p) => Date.parse(p.time) / 1000), history.map((p) => p.events_per_second)];
  }, [stats.data]);
  const counters = useMemo(() => (stats.data ? countersTable(counterRows(stats.data)) : null), [stats.data]);
  const components = useMemo(() => (health.data ? healthTable(healthRows(health.data)) : null), [health.data]);
  const stamp = stats.data?.timestamp ?? health.data?.timestamp ?? null;
  const day = stamp ? { start: stamp, end: new Date(Date.parse(stamp) + 1).toISOString() } : null;

  const section = async (): Promise<PdfSection | null> => {
    if (!counters && !components) return null;
    const blocks: PdfBlock[] = [];
    if (stats.data) {
      blocks.push({
        kind: 'chart',
        title: 'Throughput, events per second',
        image: aligned[0].length > 1 ? await chartImage(options, aligned, CHART_BACKGROUND) : null,
        legend: [{ label: 'Events per second (10 s samples)', color: THROUGHPUT_COLOR }],
      });
    }
    if (counters) blocks.push(pdfTableBlock(counters));
    if (components) blocks.push(pdfTableBlock(components));
    return {
      title: 'System performance',
      subtitle: `As of ${stamp ? stamp.replace('T', ' ').replace('Z', ' UTC') : 'now'} · overall health: ${health.data?.status ?? 'unknown'}`,
      blocks,
    };
  };
  useReportSection('system', 4, section);

  const state = !stats.data && !health.data ? (stats.error && health.error ? 'error' : 'loading') : 'ready';
  return (
    <Section
      id="system"
      title="System performance"
      note={
        health.data ? (
          <>
            Overall <span className={statusClass(health.data.status)}>{health.data.status}</span> · version {health.data.version} ·
            refreshed every 10 s
          </>
        ) : (
          'Live figures of this server'
        )
      }
      state={state}
      data={{ 'events-total': stats.data?.events_total }}
      actions={
        <>
          <CsvButton table={counters} label="Counters CSV" testId="csv-counters" filename={exportFilename(['system', 'counters'], day, 'csv')} />
          <CsvButton table={components} label="Health CSV" testId="csv-health" filename={exportFilename(['system', 'health'], day, 'csv')} />
          <PdfButton
            testId="pdf-system"
            what="system performance"
            build={async () => {
              const s = await section();
              return s && { title: 'System performance', subtitle: s.subtitle ?? '', sections: [s] };
            }}
            filename={() => exportFilename(['system'], day, 'pdf')}
          />
        </>
      }
    >
      {stats.error && <Message tone="error">Could not load the system figures: {stats.error}</Message>}
      {health.error && <Message tone="error">Could not load /health: {health.error}</Message>}
      <div className="analytics-split">
        {stats.data && (
          <div className="analytics-chart-box">
            {aligned[0].length > 1 ? (
              <UPlotChart
                options={options}
                data={aligned}
                testId="throughput-chart"
                label="Events per second over the last minutes"
              />
            ) : (
              <Message>Throughput history starts after the first 10-second samples.</Message>
            )}
          </div>
        )}
        {counters && <DataTable table={counters} testId="counters-table" rowKey={(r) => r.metric} caption={counters.title} />}
      </div>
      <div className="analytics-system-health">
        {components && (
          <DataTable
            table={components}
            testId="health-table"
            rowKey={(r) => r.component}
            caption={components.title}
            render={{ status: (r) => <span className={statusClass(r.status)}>{r.status}</span> }}
          />
        )}
      </div>
    </Section>
  );
}
