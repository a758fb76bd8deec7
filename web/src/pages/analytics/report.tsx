// Export controls: CSV of a table, PDF of a section or of the whole page. Each
// section registers how to draw itself into a PDF; the page's export collects them.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { downloadBlob, downloadCsv } from '../../export/download';
import { renderPdf, type PdfReport, type PdfSection } from '../../export/pdf';
import { tableCsv, type TableSpec } from '../../export/table';
import { describeError } from '../../api';

type SectionSource = () => Promise<PdfSection | null>;

interface Registry {
  register: (id: string, order: number, source: SectionSource) => () => void;
  collect: () => Promise<PdfSection[]>;
}

const ReportContext = createContext<Registry | null>(null);

export function ReportProvider({ children }: { children: ReactNode }) {
  const sources = useRef(new Map<string, { order: number; source: SectionSource }>());
  const [registry] = useState<Registry>(() => ({
    register: (id, order, source) => {
      sources.current.set(id, { order, source });
      return () => {
        sources.current.delete(id);
      };
    },
    collect: async () => {
      const ordered = [...sources.current.values()].sort((a, b) => a.order - b.order);
      const sections = [];
      // One at a time: each draws its charts off screen.
      for (const { source } of ordered) sections.push(await source());
      return sections.filter((s): s is PdfSection => s !== null);
    },
  }));
  return <ReportContext.Provider value={registry}>{children}</ReportContext.Provider>;
}

/** Registers this section for the page's PDF; `source` may change every render. */
export function useReportSection(id: string, order: number, source: SectionSource): void {
  const registry = useContext(ReportContext);
  const latest = useRef(source);
  latest.current = source;
  useEffect(() => registry?.register(id, order, () => latest.current()), [registry, id, order]);
}

export function useReportSections(): () => Promise<PdfSection[]> {
  const registry = useContext(ReportContext);
  return useCallback(async () => (registry ? registry.collect() : []), [registry]);
}

export function CsvButton<Row>({
  table,
  filename,
  testId,
  label = 'CSV',
}: {
  table: TableSpec<Row> | null;
  filename: string;
  testId: string;
  label?: string;
}) {
  const empty = !table || table.rows.length === 0;
  return (
    <button
      type="button"
      className="analytics-export"
      data-testid={testId}
      disabled={empty}
      aria-label={table ? `Download ${table.title} as CSV` : label}
      title={empty ? 'Nothing to export yet' : `Download ${filename}`}
      onClick={() => table && downloadCsv(tableCsv(table), filename)}
    >
      {label}
    </button>
  );
}

export function PdfButton({
  build,
  filename,
  label = 'PDF',
  what,
  testId,
  primary = false,
}: {
  build: () => Promise<PdfReport | null>;
  filename: () => string;
  label?: string;
  /** What the PDF holds, for screen readers ("Export … as PDF"). */
  what: string;
  testId: string;
  primary?: boolean;
}) {
  const [progress, setProgress] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const run = async () => {
    setNote(null);
    setProgress('Drawing the charts…');
    try {
      const report = await build();
      if (!report) {
        setNote('Nothing to export yet.');
        return;
      }
      const name = filename();
      const blob = await renderPdf(report, (message) => mounted.current && setProgress(message));
      downloadBlob(blob, name);
      if (mounted.current) setNote(`Saved ${name}`);
    } catch (error) {
      if (mounted.current) setNote(`PDF failed: ${describeError(error)}`);
    } finally {
      if (mounted.current) setProgress(null);
    }
  };

  return (
    <span className="analytics-pdf">
      <button
        type="button"
        className={primary ? 'analytics-export analytics-export-primary' : 'analytics-export'}
        data-testid={testId}
        disabled={progress !== null}
        aria-busy={progress !== null}
        aria-label={progress !== null ? `Building the ${what} PDF` : `Export ${what} as PDF`}
        title={progress ?? undefined}
        onClick={() => void run()}
      >
        {progress !== null ? 'Building PDF…' : label}
      </button>
      {/* Read out, not shown: the button itself shows the build; only a failure is shown. */}
      <span className="visually-hidden" role="status" aria-live="polite" data-testid={`${testId}-status`}>
        {progress ?? note ?? ''}
      </span>
      {note?.startsWith('PDF failed') && <span className="analytics-pdf-error">{note}</span>}
    </span>
  );
}
