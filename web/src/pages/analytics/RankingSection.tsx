// Segment performance over the range: every segment from the summary's
// by_segment, worst first by traffic score; click a header to sort.
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { exportFilename } from '../../export/filename';
import type { PdfSection } from '../../export/pdf';
import { pdfTableBlock } from '../../export/table';
import { speedUnitLabel, type SpeedUnit } from '../../format';
import { getJson } from '../../api';
import type { AnalyticsSummary } from '../../types';
import { summaryQuery } from './api';
import { DataTable } from './DataTable';
import { CsvButton, PdfButton, useReportSection } from './report';
import { Message, Section, rangeText } from './Section';
import { rankingTable, type RankRow } from './tables';
import { DEFAULT_SORT, nextSort, sortRanking, withNames, type RankSort } from './transforms';
import { useFetch } from './useFetch';

export const TOP_N = 15;

export interface RankingProps {
  range: { start: string; end: string } | null;
  unit: SpeedUnit;
  version: number;
  nameOf: (segmentId: string) => string | undefined;
}

export function RankingSection({ range, unit, version, nameOf }: RankingProps) {
  const path = range ? summaryQuery(range.start, range.end) : null;
  const summary = useFetch<AnalyticsSummary>(path, getJson, version);
  const [sort, setSort] = useState<RankSort>(DEFAULT_SORT);
  const [showAll, setShowAll] = useState(false);
  const label = speedUnitLabel(unit);

  const rows = useMemo<RankRow[]>(() => {
    if (!summary.data) return [];
    return sortRanking(withNames(summary.data.by_segment, nameOf), sort).map((r, i) => ({ ...r, rank: i + 1 }));
  }, [summary.data, nameOf, sort]);
  const table = useMemo(() => rankingTable(rows, unit), [rows, unit]);
  const sortText = `sorted by ${table.columns.find((c) => c.sortKey === sort.key)?.header ?? sort.key} ${sort.direction === 'asc' ? 'ascending' : 'descending'}`;

  const section = async (): Promise<PdfSection | null> => {
    if (!summary.data || !range) return null;
    return {
      title: 'Segment performance ranking',
      subtitle: `${rangeText(range)} · ${rows.length} segments, ${sortText} · speeds in ${label}`,
      blocks: [
        {
          kind: 'text',
          text: 'Traffic score: mean speed as a share of free-flow speed (100 = free flow); lower is worse.',
        },
        pdfTableBlock(table, 'All segments'),
      ],
    };
  };
  useReportSection('ranking', 2, section);

  const state = summary.error && !summary.data ? 'error' : summary.loading || !summary.data ? 'loading' : 'ready';
  const limit = showAll ? undefined : TOP_N;
  return (
    <Section
      id="ranking"
      title="Segment performance ranking"
      note={
        range
          ? `${rangeText(range)} · traffic score = mean speed against free flow (100 = free flow) · ${sortText}`
          : 'Waiting for the range…'
      }
      state={state}
      data={{
        start: summary.data?.start_date ?? undefined,
        end: summary.data?.end_date ?? undefined,
        rows: rows.length,
        sort: `${sort.key}:${sort.direction}`,
        source: summary.path ?? undefined,
      }}
      actions={
        <>
          <CsvButton table={summary.data ? table : null} testId="csv-ranking" filename={exportFilename(['ranking'], range, 'csv')} />
          <PdfButton
            testId="pdf-ranking"
            what="the segment ranking"
            build={async () => {
              const s = await section();
              return s && { title: 'Segment performance ranking', subtitle: s.subtitle ?? '', sections: [s] };
            }}
            filename={() => exportFilename(['ranking'], range, 'pdf')}
          />
        </>
      }
    >
      {summary.error && <Message tone="error">Could not load the ranking: {summary.error}</Message>}
      {summary.data && rows.length === 0 && <Message>No segment reported traffic in this range.</Message>}
      {rows.length > 0 && (
        <>
          <DataTable
            table={table}
            testId="ranking-table"
            rowKey={(r) => r.segment_id}
            limit={limit}
            sort={sort}
            onSort={(key) => setSort((current) => nextSort(current, key))}
            caption={`Segments ${sortText}`}
            render={{
              name: (r) => (
                <Link to={`/segments/${encodeURIComponent(r.segment_id)}`} className="analytics-link">
                  {r.name}
                </Link>
              ),
            }}
          />
          {rows.length > TOP_N && (
            <div className="analytics-table-footer">
              <span className="analytics-note">
                Showing {showAll ? rows.length : TOP_N} of {rows.length} segments (exports hold all)
              </span>
              <button type="button" aria-pressed={showAll} data-testid="ranking-show-all" onClick={() => setShowAll((v) => !v)}>
                {showAll ? `Show top ${TOP_N}` : `Show all ${rows.length}`}
              </button>
            </div>
          )}
        </>
      )}
    </Section>
  );
}
