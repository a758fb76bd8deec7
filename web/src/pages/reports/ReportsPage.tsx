// Performance reports for analysts: pick a date range and a period length, read
// the summary (VMT, VHT, delay, travel-time index, congestion, ranking, recurring
// bottlenecks) and download the same report as CSV or PDF. Viewers see why not.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { describeError, isAbort } from '../../api';
import { useRole } from '../../auth/AuthProvider';
import { can, requirement } from '../../auth/capabilities';
import { downloadBlob } from '../../export/download';
import { formatSpeed, type SpeedUnit } from '../../format';
import { usePreferences } from '../../preferences';
import { fetchReport, reportPath, type PerformanceReport, type Period, type ReportFormat } from './api';
import { fetchFile, progressText } from './download';
import { formParams, formProblems, parseForm, PERIODS, requestRange, type ReportForm } from './form';
import { delayKeys, formatNumber, headline, localRangeText, losBreakdown, periodLabel } from './summary';
import './reports.css';

const PERIOD_LABELS: Record<Period, string> = { day: 'Day', week: 'Week', month: 'Month' };
const RANKING_ROWS = 20;

export default function ReportsPage() {
  const role = useRole();
  if (!can(role, 'reports.run')) {
    return (
      <div className="page-stack reports-page">
        <h1 className="page-title">Reports</h1>
        <section className="card reports-locked" data-testid="reports-role-note" role="note">
          <p>
            Performance reports and their CSV and PDF downloads {requirement('reports.run').replace(/^Needs/, 'need')}.
          </p>
          <p className="reports-muted">
            You are signed in {role ? `with the ${role} role` : 'without a role'}. An administrator can change your role under Settings.
          </p>
        </section>
      </div>
    );
  }
  return <Reports />;
}

function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The report at `path`; nothing is asked for a null path (a form the API would refuse). */
function useReport(path: string | null, version: number) {
  const [loaded, setLoaded] = useState<{ path: string; report: PerformanceReport } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null);
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return undefined;
    }
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    fetchReport(path, controller.signal).then(
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
  return { report: loaded && loaded.path === path ? loaded.report : null, error, loading };
}

function Reports() {
  const [params, setParams] = useSearchParams();
  const [today] = useState(utcToday);
  const form = parseForm(params, today);
  const { unit } = usePreferences();
  const [draft, setDraft] = useState<ReportForm>(form);
  const [touched, setTouched] = useState(false);
  useEffect(() => setDraft(form), [form.from, form.to, form.period]);
  const problems = formProblems(draft);
  const [version, setVersion] = useState(0);
  const retry = useCallback(() => setVersion((v) => v + 1), []);

  const submittedProblems = formProblems(form);
  const valid = Object.keys(submittedProblems).length === 0;
  const path = valid ? reportPath(requestRange(form), form.period, 'json') : null;
  const { report, error, loading } = useReport(path, version);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(problems).length > 0) return;
    setParams(formParams(draft));
    retry();
  };

  const state = !valid ? 'invalid' : report ? (report.totals.windows === 0 ? 'empty' : 'ready') : error ? 'error' : 'loading';
  const showProblem = (field: 'from' | 'to') => (touched || draft[field] !== form[field] ? problems[field] : undefined);

  return (
    <div className="page-stack reports-page" data-testid="reports-page" data-state={state} aria-busy={loading}>
      <section className="card reports-toolbar" aria-labelledby="reports-title">
        <h1 className="page-title" id="reports-title">
          Performance report
        </h1>
        <form className="reports-form" onSubmit={submit} noValidate aria-label="Report range">
          <label className="reports-field">
            From
            <input
              className="field-input"
              type="date"
              value={draft.from}
              max={draft.to || undefined}
              data-testid="report-from"
              aria-invalid={showProblem('from') !== undefined}
              aria-describedby="report-from-problem"
              onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            />
          </label>
          <label className="reports-field">
            To
            <input
              className="field-input"
              type="date"
              value={draft.to}
              min={draft.from || undefined}
              data-testid="report-to"
              aria-invalid={showProblem('to') !== undefined}
              aria-describedby="report-to-problem"
              onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            />
          </label>
          <label className="reports-field">
            By
            <select
              className="field-input"
              value={draft.period}
              data-testid="report-period"
              onChange={(e) => setDraft({ ...draft, period: e.target.value as Period })}
            >
              {PERIODS.map((p) => (
                <option key={p} value={p}>
                  {PERIOD_LABELS[p]}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="button-primary" data-testid="report-submit">
            Show report
          </button>
          <span className="reports-problems" aria-live="polite">
            <span id="report-from-problem" className="reports-error" data-testid="report-from-problem">
              {showProblem('from')}
            </span>
            <span id="report-to-problem" className="reports-error" data-testid="report-to-problem">
              {showProblem('to')}
            </span>
          </span>
        </form>
        <Downloads form={form} disabled={!valid} />
        <p className="reports-muted reports-note">
          Dates are UTC days; the report covers the whole local {form.period}s of the network that they touch
          {report ? ` (${report.timezone}): ${localRangeText(report.start, report.end, report.timezone)}` : ''}.
        </p>
      </section>

      {!valid && (
        <p className="card reports-error" role="alert" data-testid="report-invalid">
          This link asks for an invalid range: {Object.values(submittedProblems).join(' ')}
        </p>
      )}
      {valid && error && (
        <div className="card reports-error-card" role="alert" data-testid="report-error">
          <p>Could not build the report: {error}</p>
          <button type="button" onClick={retry}>
            Retry
          </button>
        </div>
      )}
      {valid && !report && !error && (
        <p className="page-message" data-testid="report-loading">
          Building the report…
        </p>
      )}
      {report && <Summary report={report} unit={unit} />}
    </div>
  );
}

interface Progress {
  format: ReportFormat;
  text: string;
  /** 0–1 when the size is known. */
  fraction: number | null;
}

function Downloads({ form, disabled }: { form: ReportForm; disabled: boolean }) {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);

  const start = async (format: 'csv' | 'pdf') => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    setError(null);
    setDone(null);
    setProgress({ format, text: 'Requesting…', fraction: null });
    const range = requestRange(form);
    const fallback = `performance-${form.period}-${form.from}-${form.to}.${format}`;
    try {
      const file = await fetchFile(
        reportPath(range, form.period, format),
        fallback,
        (received, total) =>
          setProgress({ format, text: received === 0 ? 'Building…' : progressText(received, total), fraction: total ? received / total : null }),
        abort.signal,
      );
      downloadBlob(file.blob, file.filename);
      setDone(`Saved ${file.filename}`);
    } catch (e) {
      if (!isAbort(e)) setError(`The ${format.toUpperCase()} download failed: ${describeError(e)}`);
    } finally {
      if (controller.current === abort) {
        controller.current = null;
        setProgress(null);
      }
    }
  };
  const cancel = () => {
    controller.current?.abort();
    controller.current = null;
    setProgress(null);
  };

  return (
    <div className="reports-downloads" aria-label="Downloads" role="group">
      <button type="button" data-testid="download-csv" disabled={disabled || progress !== null} onClick={() => void start('csv')}>
        Download CSV
      </button>
      <button type="button" data-testid="download-pdf" disabled={disabled || progress !== null} onClick={() => void start('pdf')}>
        Download PDF
      </button>
      <span className="reports-download-state" aria-live="polite" data-testid="download-state">
        {progress && (
          <>
            <progress
              max={1}
              value={progress.fraction ?? undefined}
              aria-label={`${progress.format.toUpperCase()} download`}
              data-testid="download-progress"
            />
            <span>
              {progress.format.toUpperCase()}: {progress.text}
            </span>
            <button type="button" onClick={cancel} data-testid="download-cancel">
              Cancel
            </button>
          </>
        )}
        {!progress && done && <span className="reports-muted">{done}</span>}
      </span>
      {error && (
        <p className="reports-error" role="alert" data-testid="download-error">
          {error}
        </p>
      )}
    </div>
  );
}

function SegmentLink({ id }: { id: string }) {
  return (
    <Link to={`/segments/${encodeURIComponent(id)}`} className="reports-link">
      {id}
    </Link>
  );
}

function Summary({ report, unit }: { report: PerformanceReport; unit: SpeedUnit }) {
  const speed = (mph: number) => formatSpeed(mph, unit);
  const refs = report.reference_speeds;
  const keys = delayKeys(report.totals.delay_vehicle_hours, refs);
  const firstKey = keys[0];
  const [allSegments, setAllSegments] = useState(false);
  const segments = allSegments ? report.segments : report.segments.slice(0, RANKING_ROWS);
  const tz = report.timezone;

  if (report.totals.windows === 0) {
    return (
      <section className="card" data-testid="report-empty">
        <p className="reports-muted">
          No traffic data in {localRangeText(report.start, report.end, tz)} ({tz}): nothing to report. Choose days the network has data for.
        </p>
      </section>
    );
  }

  return (
    <>
      <section className="card card-stack" aria-labelledby="report-totals-title" data-testid="report-totals">
        <h2 id="report-totals-title" className="card-title">
          Totals · {localRangeText(report.start, report.end, tz)}
        </h2>
        <dl className="reports-figures">
          {headline(report.totals, refs, speed).map((f) => (
            <div key={f.id} className="reports-figure" data-testid={`total-${f.id}`}>
              <dt>{f.label}</dt>
              <dd>{f.value}</dd>
            </div>
          ))}
          <div className="reports-figure" data-testid="total-speed">
            <dt>Mean speed</dt>
            <dd>{speed(report.totals.mean_speed ?? Number.NaN)}</dd>
          </div>
        </dl>
        <p className="reports-muted reports-small">
          {formatNumber(report.totals.windows)} five-minute windows; congestion = segment-hours below {speed(report.congestion_mph)}.
        </p>
        <Los hours={report.totals.los_hours} />
      </section>

      <section className="card card-stack" aria-labelledby="report-periods-title">
        <h2 id="report-periods-title" className="card-title">
          By {report.period}
        </h2>
        <div className="reports-table-wrap">
          <table className="data-table reports-table" data-testid="report-periods">
            <thead>
              <tr>
                <th scope="col">{PERIOD_LABELS[report.period]}</th>
                <th scope="col" className="reports-num">VMT</th>
                <th scope="col" className="reports-num">VHT</th>
                {keys.map((k) => (
                  <th key={k} scope="col" className="reports-num">
                    Delay vs {speed(Number(k))} (veh-h)
                  </th>
                ))}
                <th scope="col" className="reports-num">TTI</th>
                <th scope="col" className="reports-num">Congestion h</th>
              </tr>
            </thead>
            <tbody>
              {report.periods.map((p) => (
                <tr key={p.start}>
                  <th scope="row">{periodLabel(p.start, report.period, tz)}</th>
                  <td className="reports-num" data-col="vmt">{formatNumber(p.vmt)}</td>
                  <td className="reports-num" data-col="vht">{formatNumber(p.vht)}</td>
                  {keys.map((k) => (
                    <td key={k} className="reports-num" data-col={`delay-${k}`}>
                      {formatNumber(p.delay_vehicle_hours[k], 1)}
                    </td>
                  ))}
                  <td className="reports-num" data-col="tti">{formatNumber(p.travel_time_index, 2)}</td>
                  <td className="reports-num" data-col="congestion">{formatNumber(p.congestion_hours, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card card-stack" aria-labelledby="report-ranking-title">
        <header className="card-header">
          <h2 id="report-ranking-title" className="card-title">
            Segments ranked by delay{firstKey ? ` vs ${speed(Number(firstKey))}` : ''}
          </h2>
          <span className="reports-muted reports-small" data-testid="ranking-count">
            {segments.length} of {report.segments.length}
          </span>
        </header>
        <div className="reports-table-wrap reports-scroll">
          <table className="data-table reports-table" data-testid="report-ranking">
            <thead>
              <tr>
                <th scope="col" className="reports-num">Rank</th>
                <th scope="col">Segment</th>
                <th scope="col">Name</th>
                <th scope="col">LOS</th>
                <th scope="col" className="reports-num">VMT</th>
                {firstKey && <th scope="col" className="reports-num">Delay (veh-h)</th>}
                <th scope="col" className="reports-num">TTI</th>
                <th scope="col" className="reports-num">Mean speed</th>
                <th scope="col" className="reports-num">Congestion h</th>
              </tr>
            </thead>
            <tbody>
              {segments.map((s) => (
                <tr key={s.segment_id} data-segment-id={s.segment_id}>
                  <td className="reports-num" data-col="rank">{s.rank}</td>
                  <td><SegmentLink id={s.segment_id} /></td>
                  <td className="reports-muted">{s.name ?? '—'}</td>
                  <td data-col="los">{s.level_of_service ?? '—'}</td>
                  <td className="reports-num" data-col="vmt">{formatNumber(s.vmt)}</td>
                  {firstKey && (
                    <td className="reports-num" data-col="delay">{formatNumber(s.delay_vehicle_hours[firstKey], 1)}</td>
                  )}
                  <td className="reports-num" data-col="tti">{formatNumber(s.travel_time_index, 2)}</td>
                  <td className="reports-num" data-col="speed">{speed(s.mean_speed ?? Number.NaN)}</td>
                  <td className="reports-num" data-col="congestion">{formatNumber(s.congestion_hours, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {report.segments.length > RANKING_ROWS && (
          <button type="button" className="reports-more" data-testid="ranking-toggle" onClick={() => setAllSegments((v) => !v)}>
            {allSegments ? `Show the top ${RANKING_ROWS}` : `Show all ${report.segments.length} segments`}
          </button>
        )}
      </section>

      <section className="card card-stack" aria-labelledby="report-bottlenecks-title">
        <h2 id="report-bottlenecks-title" className="card-title">
          Recurring bottlenecks
        </h2>
        {report.bottlenecks.length === 0 ? (
          <p className="reports-muted" data-testid="bottlenecks-empty">
            No recurring bottleneck: no detector was held well below the next one downstream for 3+ windows on 2+ days.
          </p>
        ) : (
          <div className="reports-table-wrap">
            <table className="data-table reports-table" data-testid="report-bottlenecks">
              <thead>
                <tr>
                  <th scope="col">Congested (upstream)</th>
                  <th scope="col">Faster (downstream)</th>
                  <th scope="col" className="reports-num">Active days</th>
                  <th scope="col" className="reports-num">Active hours</th>
                  <th scope="col" className="reports-num">Mean drop</th>
                </tr>
              </thead>
              <tbody>
                {report.bottlenecks.map((b) => (
                  <tr key={`${b.upstream_segment_id}>${b.segment_id}`}>
                    <td><SegmentLink id={b.upstream_segment_id} /></td>
                    <td><SegmentLink id={b.segment_id} /></td>
                    <td className="reports-num">{b.active_days}</td>
                    <td className="reports-num">{formatNumber(b.active_hours, 1)}</td>
                    <td className="reports-num">{speed(b.mean_drop_mph)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function Los({ hours }: { hours: Record<string, number> }) {
  const rows = losBreakdown(hours);
  return (
    <div className="reports-los" data-testid="report-los">
      <span className="reports-muted reports-small">Segment-hours by level of service</span>
      <ul aria-label="Segment-hours by level of service">
        {rows.map((r) => (
          <li key={r.grade} data-grade={r.grade} title={`${r.grade}: ${formatNumber(r.hours, 1)} h`}>
            <span className="reports-los-grade">{r.grade}</span>
            <span className="reports-los-bar" aria-hidden="true">
              <span className={`reports-los-fill reports-los-${r.grade}`} style={{ width: `${r.share * 100}%` }} />
            </span>
            <span className="reports-num">{formatNumber(r.hours, 1)} h</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
