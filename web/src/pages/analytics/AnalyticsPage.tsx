// Reports for engineers and planners: traffic per day / week / month, segment
// ranking, forecast accuracy and system performance over one chosen range, each
// exportable as CSV (tables) and PDF (sections, or the whole page).
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { exportFilename } from '../../export/filename';
import { speedUnitLabel } from '../../format';
import { useLive, useReconnect } from '../../live/LiveProvider';
import { usePreferences } from '../../preferences';
import { AccuracySection } from './AccuracySection';
import { getJson } from '../../api';
import { trendQuery, type Period, type TrendResponse } from './api';
import { PERIODS, parseRange, rangeParams, rangeProblem, requestDates, shownDates, type RangeState } from './range';
import { RankingSection } from './RankingSection';
import { PdfButton, ReportProvider, useReportSections } from './report';
import { rangeText } from './Section';
import { SummarySection } from './SummarySection';
import { SystemSection } from './SystemSection';
import { useFetch } from './useFetch';
import './analytics.css';

const PERIOD_LABELS: Record<Period, string> = { day: 'Day', week: 'Week', month: 'Month' };
const REFRESH_MS = 5 * 60_000;

export default function AnalyticsPage() {
  return (
    <ReportProvider>
      <AnalyticsReport />
    </ReportProvider>
  );
}

/** One end of the range; an empty `min` / `max` sets no bound. */
function DateField({
  label,
  testId,
  value,
  min,
  max,
  invalid,
  onChange,
}: {
  label: string;
  testId: string;
  value: string;
  min?: string;
  max?: string;
  invalid: boolean;
  onChange: (value: string) => void;
}) {
  return (
    <label className="analytics-date">
      {label}
      <input
        className="field-input"
        type="date"
        value={value}
        min={min || undefined}
        max={max || undefined}
        data-testid={testId}
        aria-invalid={invalid}
        onChange={(e) => onChange(e.target.value)}
      />
    </label>
  );
}

function AnalyticsReport() {
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => parseRange(params), [params]);
  const { unit } = usePreferences();
  const { network } = useLive();
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  useReconnect(reload);
  // The reports read closed 5-minute windows: new figures arrive that often.
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const dates = requestDates(state);
  const trendPath = trendQuery(state.period, dates.start, dates.end);
  const trend = useFetch<TrendResponse>(trendPath, getJson, version);
  // The other reports follow the range the summary resolved (whole buckets, or
  // the API's default), and only once it answers the current choice.
  const current = trend.data && trend.path === trendPath ? trend.data : null;
  const range = useMemo(
    () => (current ? { start: current.start_date, end: current.end_date } : null),
    [current],
  );

  const byId = network.state === 'ready' ? network.byId : null;
  const nameOf = useCallback((id: string) => byId?.get(id)?.name, [byId]);

  const update = (next: RangeState) => setParams(rangeParams(next), { replace: false });

  const shown = state.from && state.to ? { from: state.from, to: state.to } : current ? shownDates(current.start_date, current.end_date) : null;
  const [draft, setDraft] = useState({ from: '', to: '' });
  useEffect(() => {
    if (shown) setDraft(shown);
    // Keyed on the two strings: `shown` is a new object every render.
  }, [shown?.from, shown?.to]);
  const problem = draft.from || draft.to ? rangeProblem(draft.from, draft.to) : null;

  const changeDate = (which: 'from' | 'to', value: string) => {
    const next = { ...draft, [which]: value };
    setDraft(next);
    if (rangeProblem(next.from, next.to) === null) update({ ...state, from: next.from, to: next.to });
  };

  const collect = useReportSections();
  const buildPage = async () => {
    const sections = await collect();
    if (!sections.length || !range) return null;
    return {
      title: 'Analytics report',
      subtitle: `Traffic by ${state.period} · ${rangeText(range)} · speeds in ${speedUnitLabel(unit)} · generated ${new Date()
        .toISOString()
        .slice(0, 16)
        .replace('T', ' ')} UTC`,
      sections,
    };
  };

  return (
    <div className="analytics-page">
      <div className="analytics-toolbar">
        <h1>Analytics</h1>
        <fieldset className="analytics-periods">
          <legend className="visually-hidden">Period</legend>
          {PERIODS.map((p) => (
            <label key={p} className={p === state.period ? 'analytics-period analytics-period-on' : 'analytics-period'}>
              <input
                type="radio"
                name="analytics-period"
                value={p}
                checked={p === state.period}
                data-testid={`period-${p}`}
                onChange={() => update({ ...state, period: p })}
              />
              {PERIOD_LABELS[p]}
            </label>
          ))}
        </fieldset>
        <DateField
          label="From"
          testId="range-from"
          value={draft.from}
          max={draft.to}
          invalid={problem !== null}
          onChange={(v) => changeDate('from', v)}
        />
        <DateField
          label="To"
          testId="range-to"
          value={draft.to}
          min={draft.from}
          invalid={problem !== null}
          onChange={(v) => changeDate('to', v)}
        />
        <button
          type="button"
          data-testid="range-latest"
          disabled={!state.from}
          title="The latest 14 days, 12 weeks or 12 months of data"
          onClick={() => update({ period: state.period, from: null, to: null })}
        >
          Latest
        </button>
        <button type="button" onClick={reload} data-testid="refresh">
          Refresh
        </button>
        <span className="analytics-toolbar-end">
          <PdfButton
            primary
            label="Export report (PDF)"
            testId="pdf-page"
            what="the whole analytics report"
            build={buildPage}
            filename={() => exportFilename(['analytics', state.period], range, 'pdf')}
          />
        </span>
        {problem && (
          <p className="analytics-problem" role="alert">
            {problem}
          </p>
        )}
      </div>
      <div className="analytics-grid">
        <SummarySection trend={trend} unit={unit} />
        <RankingSection range={range} unit={unit} version={version} nameOf={nameOf} />
        <AccuracySection range={range} unit={unit} version={version} />
        <SystemSection version={version} />
      </div>
    </div>
  );
}
