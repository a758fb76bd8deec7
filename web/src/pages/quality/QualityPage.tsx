// Detector health: for one local day of the network, each detector's status (good,
// or why not) and the share of expected readings it sent, as GET /api/quality/detectors
// judges them. Filter by status, search by segment, open a segment's page.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { describeError, isAbort } from '../../api';
import { useReconnect } from '../../live/LiveProvider';
import { fetchDetectorHealth, fetchQualityDays, healthPath, type DetectorDay, type QualityDays, type DetectorHealthReport } from './api';
import {
  addDays,
  dataRangeText,
  DEFAULT_SORT,
  defaultDay,
  FILTER_LABELS,
  FILTERS,
  filterCounts,
  formatShare,
  isDate,
  localTime,
  nextSort,
  parseFilter,
  REASON_LABELS,
  todayIn,
  visibleRows,
  type Sort,
  type SortKey,
} from './model';
import './quality.css';

/** The API's first day (no road network has data from before). */
const EARLIEST = '2000-01-01';
/** Rows drawn at first: a big network's table stays quick until asked for all. */
const PAGE_ROWS = 500;

interface Loaded {
  path: string;
  report: DetectorHealthReport;
}

/** The days with data; `failed` when the server would not say (the page then opens on today). */
function useDays(version: number) {
  const [days, setDays] = useState<QualityDays | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    fetchQualityDays(controller.signal).then(
      (d) => {
        setDays(d);
        setFailed(false);
      },
      (e: unknown) => !isAbort(e) && setFailed(true),
    );
    return () => controller.abort();
  }, [version]);
  return { days, failed };
}

/** The report at `path`; nothing is asked while the path is null. */
function useHealth(path: string | null, version: number) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    fetchDetectorHealth(path, controller.signal).then(
      (report) => {
        setLoaded({ path, report });
        setLoading(false);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        setError(describeError(e));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, version]);
  // A report of another day is not shown as this one's.
  const report = loaded && loaded.path === path ? loaded.report : null;
  return { report, error, loading };
}

const COLUMNS: readonly { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'segment_id', label: 'Segment' },
  { key: 'name', label: 'Name' },
  { key: 'reason', label: 'Status' },
  { key: 'share', label: 'Received', numeric: true },
  { key: 'samples', label: 'Readings', numeric: true },
];

export default function QualityPage() {
  const [params, setParams] = useSearchParams();
  const rawDate = params.get('date');
  const date = isDate(rawDate) ? rawDate : null;
  const filter = parseFilter(params.get('status'));
  // Typed into local state (the URL follows): a field bound to the URL alone could drop
  // keystrokes while the router commits the previous one.
  const [search, setSearch] = useState(() => params.get('q') ?? '');
  const [sort, setSort] = useState<Sort>(DEFAULT_SORT);
  const [showAll, setShowAll] = useState(false);
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  useReconnect(reload);

  const { days, failed: daysFailed } = useDays(version);
  // Without a date in the URL the page opens on today, or on the last day with data when
  // that is earlier (a replay of another year): it waits for /days to know which.
  const fallback = days ? defaultDay(days) : null;
  const path = date !== null || days !== null || daysFailed ? healthPath(date ?? fallback) : null;
  const { report, error, loading } = useHealth(path, version);
  // The network's today (the API refuses later days).
  const today = days?.today ?? (report ? todayIn(report.timezone, Date.now()) : null);
  const earliest = days?.earliest ?? EARLIEST;

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null || value === '') next.delete(name);
    else next.set(name, value);
    setParams(next, { replace: name === 'q' });
  };

  const shownDate = date ?? report?.date ?? '';
  const [draft, setDraft] = useState(shownDate);
  useEffect(() => setDraft(shownDate), [shownDate]);
  const dateProblem =
    draft === ''
      ? 'Choose a day.'
      : !isDate(draft)
        ? 'Not a date.'
        : today && draft > today
          ? `No data yet: today is ${today}.`
          : draft < earliest
            ? `Choose a day from ${earliest} on.`
            : null;
  const chooseDate = (value: string) => {
    setDraft(value);
    setShowAll(false);
    if (isDate(value) && value >= earliest && !(today && value > today)) setParam('date', value === (fallback ?? today) ? null : value);
  };

  const rows = useMemo(() => (report ? visibleRows(report.detectors, filter, search, sort) : []), [report, filter, search, sort]);
  const counts = report ? filterCounts(report) : null;
  const shown = showAll ? rows : rows.slice(0, PAGE_ROWS);
  const isToday = report !== null && today !== null && report.date === today;
  const state = report ? (report.detectors.length === 0 ? 'empty' : 'ready') : error ? 'error' : 'loading';

  return (
    <div className="page-stack quality-page" data-testid="quality-page" data-state={state} aria-busy={loading}>
      <section className="card quality-toolbar" aria-label="Day">
        <h1 className="page-title">Detector health</h1>
        <label className="quality-field">
          Day
          <input
            className="field-input"
            type="date"
            value={draft}
            min={earliest}
            max={today ?? undefined}
            data-testid="quality-date"
            aria-invalid={dateProblem !== null}
            aria-describedby="quality-day-note"
            onChange={(e) => chooseDate(e.target.value)}
          />
        </label>
        <button
          type="button"
          data-testid="quality-prev"
          disabled={!isDate(shownDate) || shownDate <= earliest}
          onClick={() => chooseDate(addDays(shownDate, -1))}>
          ‹ Previous day
        </button>
        <button
          type="button"
          data-testid="quality-next"
          disabled={!isDate(shownDate) || today === null || shownDate >= today}
          onClick={() => chooseDate(addDays(shownDate, 1))}
        >
          Next day ›
        </button>
        <button type="button" data-testid="quality-today" disabled={today === null || shownDate === today} onClick={() => chooseDate(today ?? '')}>
          Today
        </button>
        {days?.last_day && days.last_day !== days.today && (
          <button
            type="button"
            data-testid="quality-latest"
            disabled={shownDate === days.last_day}
            title="The last day with stored traffic data"
            onClick={() => chooseDate(days.last_day ?? '')}
          >
            Last day with data
          </button>
        )}
        <button type="button" data-testid="quality-refresh" onClick={reload}>
          Refresh
        </button>
        <p className="quality-note" id="quality-day-note">
          {report
            ? `Days in the network's time zone (${report.timezone})${isToday ? `; today so far, up to ${localTime(report.end, report.timezone)}` : ''}.`
            : 'Days in the network’s time zone.'}{' '}
          {days && <span data-testid="quality-data-range">{dataRangeText(days)}</span>}
        </p>
        {dateProblem && draft !== shownDate && (
          <p className="quality-error" role="alert" data-testid="quality-date-problem">
            {dateProblem}
          </p>
        )}
      </section>

      {error && (
        <div className="card quality-error-card" role="alert" data-testid="quality-error">
          <p>Could not load detector health: {error}</p>
          <button type="button" onClick={reload}>
            Retry
          </button>
        </div>
      )}

      {!report && !error && (
        <p className="page-message" data-testid="quality-loading">
          Loading detector health…
        </p>
      )}

      {report && counts && (
        <>
          <section className="card card-stack" aria-labelledby="quality-counts-title">
            <h2 id="quality-counts-title" className="card-title">
              {report.date}: detectors by status
            </h2>
            <ul className="quality-counts" aria-label="Filter by status">
              {FILTERS.map((f) => (
                <li key={f}>
                  <button
                    type="button"
                    className={`quality-count quality-count-${f}`}
                    aria-pressed={filter === f}
                    data-testid={`count-${f}`}
                    data-count={counts[f]}
                    onClick={() => setParam('status', f === 'all' ? null : f)}
                  >
                    <span className="quality-count-value">{counts[f]}</span>
                    <span className="quality-count-label">{FILTER_LABELS[f]}</span>
                  </button>
                </li>
              ))}
            </ul>
            <Rules report={report} />
          </section>

          <section className="card card-stack" aria-labelledby="quality-table-title">
            <header className="card-header">
              <h2 id="quality-table-title" className="card-title">
                Detectors
              </h2>
              <label className="quality-field">
                Status
                <select
                  className="field-input"
                  value={filter}
                  data-testid="quality-filter"
                  onChange={(e) => setParam('status', e.target.value === 'all' ? null : e.target.value)}
                >
                  {FILTERS.map((f) => (
                    <option key={f} value={f}>
                      {FILTER_LABELS[f]} ({counts[f]})
                    </option>
                  ))}
                </select>
              </label>
              <label className="quality-field">
                Segment
                <input
                  className="field-input quality-search"
                  type="search"
                  placeholder="id or name"
                  value={search}
                  data-testid="quality-search"
                  onChange={(e) => {
                    setSearch(e.target.value);
                    setParam('q', e.target.value);
                  }}
                />
              </label>
              <span className="quality-shown" data-testid="quality-shown" aria-live="polite">
                {rows.length} of {report.detectors.length} detectors
              </span>
            </header>
            {report.detectors.length === 0 ? (
              <p className="quality-muted" data-testid="quality-empty">
                The road network has no detectors yet.
              </p>
            ) : rows.length === 0 ? (
              <p className="quality-muted" data-testid="quality-no-match">
                No detectors match {filter === 'all' ? 'this search' : `“${FILTER_LABELS[filter]}”${search.trim() ? ' and this search' : ''}`}.
              </p>
            ) : (
              <DetectorTable rows={shown} sort={sort} onSort={(key) => setSort((s) => nextSort(s, key))} />
            )}
            {rows.length > shown.length && (
              <button type="button" className="quality-more" data-testid="quality-show-all" onClick={() => setShowAll(true)}>
                Show all {rows.length} detectors
              </button>
            )}
          </section>
        </>
      )}
    </div>
  );
}

function Rules({ report }: { report: DetectorHealthReport }) {
  const r = report.rules;
  return (
    <p className="quality-note">
      Checked in this order: no data; insufficient data (under {Math.round(r.min_share * 100)} % of the readings expected every{' '}
      {r.expected_interval_s} s); stuck (one speed all day); implausible (over {Math.round(r.max_implausible_share * 100)} % of speeds
      above {r.max_plausible_mph} mph, or 0 mph with vehicles counted); intermittent (a gap of {r.max_gap_minutes} min or more).
    </p>
  );
}

function DetectorTable({ rows, sort, onSort }: { rows: DetectorDay[]; sort: Sort; onSort: (key: SortKey) => void }) {
  return (
    <div className="quality-table-wrap">
      <table className="data-table quality-table" data-testid="quality-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = sort.key === c.key;
              return (
                <th
                  key={c.key}
                  scope="col"
                  className={c.numeric ? 'quality-num' : undefined}
                  aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}
                >
                  <button type="button" className="quality-sort" data-sort={c.key} onClick={() => onSort(c.key)}>
                    {c.label}
                    <span aria-hidden="true" className="quality-sort-mark">
                      {active ? (sort.direction === 'asc' ? '▲' : '▼') : '↕'}
                    </span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.segment_id} data-segment-id={row.segment_id} data-reason={row.reason}>
              <td>
                <Link to={`/segments/${encodeURIComponent(row.segment_id)}`} className="quality-link">
                  {row.segment_id}
                </Link>
              </td>
              <td className="quality-name">{row.name ?? '—'}</td>
              <td>
                <span className={`pill quality-status quality-status-${row.reason in REASON_LABELS ? row.reason : 'other'}`}>
                  {REASON_LABELS[row.reason] ?? row.reason}
                </span>
              </td>
              <td className="quality-num" data-col="share">
                <span className="quality-bar" aria-hidden="true">
                  <span style={{ width: `${Math.min(100, Math.max(0, row.share * 100))}%` }} />
                </span>
                {formatShare(row.share)}
              </td>
              <td className="quality-num" data-col="samples">
                {row.samples.toLocaleString('en-US')} / {row.expected.toLocaleString('en-US')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
