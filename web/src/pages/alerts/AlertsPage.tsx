// The operator's alert desk: the active alerts, live, with acknowledge and resolve;
// the history with filters; and the congestion rule.
import { RoleButton } from '../../auth/RoleButton';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { formatDateTimeUtc } from '../../format';
import { useLive, useLiveMessages, useReconnect } from '../../live/LiveProvider';
import { ApiError, describeError, fetchAlerts } from '../../api';
import type { AlertRecord } from '../../types';
import { actOnAlert } from './api';
import {
  ACTIVE_QUERY,
  ALERT_TYPES,
  alertFromMessage,
  applyToActive,
  countBySeverity,
  EMPTY_FILTERS,
  filterErrors,
  formatAge,
  HISTORY_LIMIT,
  historyQuery,
  isNewer,
  SEVERITIES,
  withAction,
  type HistoryFilters,
  type StateFilter,
} from './model';
import { RuleEditor } from './RuleEditor';
import './alerts.css';

type Action = 'acknowledge' | 'resolve';

/** Re-renders every `ms` so ages stay current. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

interface ActiveState {
  alerts: AlertRecord[] | null;
  error: string | null;
}

/**
 * Open and acknowledged alerts: fetched, then kept current by live `alert` messages
 * and by the operator's own actions (shown at once, then as the server answers).
 */
function useActiveAlerts(onChange: (alert: AlertRecord) => void) {
  const [state, setState] = useState<ActiveState>({ alerts: null, error: null });
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  useReconnect(reload);
  // Latest known version of every alert seen, so an old message cannot undo a newer change.
  const known = useRef(new Map<string, AlertRecord>());
  const pending = useRef<AlertRecord[] | null>(null);

  const apply = useCallback((alert: AlertRecord, force = false) => {
    if (!force && !isNewer(alert, known.current.get(alert.alert_id))) return;
    known.current.set(alert.alert_id, alert);
    pending.current?.push(alert);
    setState((s) => (s.alerts ? { ...s, alerts: applyToActive(s.alerts, alert) } : s));
    onChange(alert);
  }, [onChange]);

  const onAlert = useCallback(
    (msg: { data: Record<string, unknown> }) => {
      const id = typeof msg.data.alert_id === 'string' ? msg.data.alert_id : '';
      const alert = alertFromMessage(msg.data, known.current.get(id));
      if (alert) apply(alert);
    },
    [apply],
  );
  useLiveMessages('alert', onAlert);

  useEffect(() => {
    const controller = new AbortController();
    pending.current = [];
    fetchAlerts(ACTIVE_QUERY, controller.signal).then(
      (response) => {
        let alerts = response.alerts;
        for (const a of alerts) {
          if (isNewer(a, known.current.get(a.alert_id))) known.current.set(a.alert_id, a);
        }
        // Changes that arrived while the request was in flight win over its answer.
        for (const a of pending.current ?? []) alerts = applyToActive(alerts, a);
        pending.current = null;
        setState({ alerts, error: null });
      },
      (error: unknown) => {
        pending.current = null;
        if (!controller.signal.aborted) setState((s) => ({ ...s, error: describeError(error) }));
      },
    );
    return () => controller.abort();
  }, [attempt]);

  const act = useCallback(
    async (alert: AlertRecord, action: Action, note: string | null): Promise<string | null> => {
      const before = known.current.get(alert.alert_id) ?? alert;
      apply(withAction(before, action, note, new Date().toISOString()), true);
      try {
        apply(await actOnAlert(alert.alert_id, action, note), true);
        return null;
      } catch (error) {
        // Undo the optimistic change; the list is refetched to show what really holds.
        apply(before, true);
        reload();
        if (error instanceof ApiError && error.status === 409) {
          return 'Someone resolved this alert already.';
        }
        return `Not done: ${describeError(error)}`;
      }
    },
    [apply, reload],
  );
  return { ...state, act, reload };
}

/** "2026-01-05 08:00": the column header says UTC. */
function shortUtc(iso: string): string {
  return formatDateTimeUtc(iso).replace(' UTC', '');
}

/** The message and operator note of an alert, and what the row adds below them. */
function DetailsCell({ alert, children }: { alert: AlertRecord; children?: ReactNode }) {
  return (
    <td className="alerts-details">
      {alert.message}
      {alert.note && <span className="alerts-note">Note: {alert.note}</span>}
      {children}
    </td>
  );
}

function SeverityBadge({ severity }: { severity: string }) {
  return <span className={`pill alerts-badge alerts-severity-${severity}`}>{severity}</span>;
}

function StateBadge({ state }: { state: string }) {
  return (
    <span className={`pill alerts-badge alerts-state-${state}`} data-testid="alert-state">
      {state}
    </span>
  );
}

function SegmentLink({ segmentId, name }: { segmentId: string | null; name: string | undefined }) {
  if (!segmentId) return <span className="alerts-muted">—</span>;
  return (
    <Link to={`/segments/${encodeURIComponent(segmentId)}`} className="alerts-segment">
      <span className="alerts-segment-name">{name ?? segmentId}</span>
      {name && <span className="alerts-segment-id">{segmentId}</span>}
    </Link>
  );
}

function ActionForm({
  alert,
  action,
  onDone,
  onClose,
  act,
}: {
  alert: AlertRecord;
  action: Action;
  onDone: (error: string | null) => void;
  onClose: () => void;
  act: (alert: AlertRecord, action: Action, note: string | null) => Promise<string | null>;
}) {
  const [note, setNote] = useState(alert.note ?? '');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = note.trim();
    // The row shows the change at once; the server's answer confirms or corrects it.
    act(alert, action, text && text !== alert.note ? text : null).then(onDone);
    onClose();
  };
  const verb = action === 'acknowledge' ? 'Acknowledge' : 'Resolve';
  return (
    <form className="alerts-action-form" onSubmit={submit} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <label>
        Note (optional)
        <input
          ref={input}
          type="text"
          maxLength={500}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          placeholder={action === 'acknowledge' ? 'e.g. crew on the way' : 'e.g. cleared, lanes open'}
        />
      </label>
      <button type="submit" className="button-primary">
        {verb}
      </button>
      <button type="button" onClick={onClose}>
        Cancel
      </button>
    </form>
  );
}

function ActiveAlerts({
  nameOf,
  onChange,
}: {
  nameOf: (segmentId: string | null) => string | undefined;
  onChange: (alert: AlertRecord) => void;
}) {
  const { alerts, error, act, reload } = useActiveAlerts(onChange);
  const now = useNow(15_000);
  const [open, setOpen] = useState<{ id: string; action: Action } | null>(null);
  const [rowError, setRowError] = useState<{ id: string; text: string } | null>(null);
  const counts = useMemo(() => countBySeverity(alerts ?? []), [alerts]);

  return (
    <section className="card card-stack" aria-labelledby="alerts-active-heading" data-testid="active-alerts">
      <header className="card-header">
        <h2 id="alerts-active-heading" className="card-title">Active alerts</h2>
        {alerts && (
          <span className="alerts-counts" data-testid="active-count">
            {alerts.length} active
            {SEVERITIES.map((s) => (counts[s] ? ` · ${counts[s]} ${s}` : ''))}
          </span>
        )}
        <span className="alerts-live-note">updates live</span>
      </header>
      {error && (
        <div className="alerts-error" role="alert">
          Could not load the active alerts: {error}{' '}
          <button type="button" onClick={reload}>
            Retry
          </button>
        </div>
      )}
      {!alerts && !error && <p className="alerts-muted">Loading…</p>}
      {alerts && alerts.length === 0 && (
        <p className="alerts-muted" data-testid="active-empty">
          No active alerts. Congestion alerts open here as soon as the stream processor raises them.
        </p>
      )}
      {rowError && !alerts?.some((a) => a.alert_id === rowError.id) && (
        <p className="alerts-error" role="alert">
          {rowError.text}
        </p>
      )}
      {alerts && alerts.length > 0 && (
        <div className="alerts-table-wrap">
          <table className="alerts-table">
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Type</th>
                <th scope="col">Segment</th>
                <th scope="col">Opened (UTC)</th>
                <th scope="col">Age</th>
                <th scope="col">State</th>
                <th scope="col">Details</th>
                <th scope="col">
                  <span className="alerts-sr">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((alert) => {
                const editing = open?.id === alert.alert_id ? open.action : null;
                const problem = rowError?.id === alert.alert_id ? rowError.text : null;
                return (
                  <AlertRow
                    key={alert.alert_id}
                    alert={alert}
                    name={nameOf(alert.segment_id)}
                    now={now}
                    editing={editing}
                    problem={problem}
                    onOpen={(action) => {
                      setRowError(null);
                      setOpen({ id: alert.alert_id, action });
                    }}
                    form={
                      editing && (
                        <ActionForm
                          alert={alert}
                          action={editing}
                          act={act}
                          onClose={() => setOpen(null)}
                          onDone={(err) => {
                            if (err) setRowError({ id: alert.alert_id, text: err });
                          }}
                        />
                      )
                    }
                  />
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function AlertRow({
  alert,
  name,
  now,
  editing,
  problem,
  onOpen,
  form,
}: {
  alert: AlertRecord;
  name: string | undefined;
  now: number;
  editing: Action | null;
  problem: string | null;
  onOpen: (action: Action) => void;
  form: ReactNode;
}) {
  return (
    <>
      <tr data-alert-id={alert.alert_id} className={alert.state === 'acknowledged' ? 'alerts-row-acked' : undefined}>
        <td>
          <SeverityBadge severity={alert.severity} />
        </td>
        <td>{alert.alert_type}</td>
        <td>
          <SegmentLink segmentId={alert.segment_id} name={name} />
        </td>
        <td className="alerts-num">{shortUtc(alert.opened_at)}</td>
        <td className="alerts-num" data-testid="alert-age">
          {formatAge(alert.opened_at, now)}
        </td>
        <td>
          <StateBadge state={alert.state} />
        </td>
        <DetailsCell alert={alert}>
          {problem && (
            <span className="alerts-error" role="alert">
              {problem}
            </span>
          )}
        </DetailsCell>
        <td className="alerts-actions">
          {alert.state === 'open' && (
            <RoleButton
              capability="alerts.act"
              type="button"
              aria-pressed={editing === 'acknowledge'}
              onClick={() => onOpen('acknowledge')}
            >
              Acknowledge
            </RoleButton>
          )}
          <RoleButton capability="alerts.act" type="button" aria-pressed={editing === 'resolve'} onClick={() => onOpen('resolve')}>
            Resolve
          </RoleButton>
        </td>
      </tr>
      {editing && (
        <tr className="alerts-action-row">
          <td colSpan={8}>{form}</td>
        </tr>
      )}
    </>
  );
}

/** A filter's choice: its value, shown as is or with a label. */
type Choice = string | readonly [value: string, label: string];

const STATE_CHOICES: readonly Choice[] = [['active', 'active (open or acknowledged)'], 'open', 'acknowledged', 'resolved'];

/** A history filter: "any", or one of `choices`. */
function AnyOfSelect({
  label,
  name,
  value,
  choices,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  choices: readonly Choice[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {choices.map((choice) => {
          const [key, text] = typeof choice === 'string' ? [choice, choice] : choice;
          return (
            <option key={key} value={key}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

function HistoryTable({
  nameOf,
  segmentOptions,
  refreshTick,
  changed,
}: {
  nameOf: (segmentId: string | null) => string | undefined;
  segmentOptions: readonly { id: string; name: string }[];
  refreshTick: number;
  /** The latest change to any alert, shown in its row at once (the refetch follows). */
  changed: AlertRecord | null;
}) {
  const [filters, setFilters] = useState<HistoryFilters>(EMPTY_FILTERS);
  const [segmentText, setSegmentText] = useState('');
  const [rows, setRows] = useState<AlertRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const problems = filterErrors(filters);
  const query = historyQuery(filters);
  const valid = Object.keys(problems).length === 0;

  // Typing a segment id filters once the typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.segmentId === segmentText ? f : { ...f, segmentId: segmentText })), 350);
    return () => clearTimeout(timer);
  }, [segmentText]);

  useEffect(() => {
    if (!valid) return undefined;
    const controller = new AbortController();
    setLoading(true);
    fetchAlerts(query, controller.signal).then(
      (response) => {
        setRows(response.alerts);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(describeError(err));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [query, valid, refreshTick]);

  useEffect(() => {
    if (!changed) return;
    setRows((list) =>
      list?.some((r) => r.alert_id === changed.alert_id && r !== changed && isNewer(changed, r))
        ? list.map((r) => (r.alert_id === changed.alert_id ? changed : r))
        : list,
    );
  }, [changed]);

  const set = <K extends keyof HistoryFilters>(key: K, value: HistoryFilters[K]) =>
    setFilters((f) => ({ ...f, [key]: value }));
  const filtered = JSON.stringify(filters) !== JSON.stringify(EMPTY_FILTERS) || segmentText !== '';

  return (
    <section className="card card-stack" aria-labelledby="alerts-history-heading" data-testid="alert-history">
      <header className="card-header">
        <h2 id="alerts-history-heading" className="card-title">History</h2>
        <span className="alerts-counts" data-testid="history-count" aria-live="polite">
          {rows && `${rows.length} alert${rows.length === 1 ? '' : 's'}`}
          {rows && rows.length >= HISTORY_LIMIT && ` (newest ${HISTORY_LIMIT}; narrow the filters for more)`}
          {loading && ' · loading…'}
        </span>
      </header>
      <form className="alerts-filters" onSubmit={(e) => e.preventDefault()} aria-label="History filters">
        <AnyOfSelect
          label="State"
          name="state"
          value={filters.state}
          choices={STATE_CHOICES}
          onChange={(v) => set('state', v as StateFilter)}
        />
        <AnyOfSelect
          label="Severity"
          name="severity"
          value={filters.severity}
          choices={SEVERITIES}
          onChange={(v) => set('severity', v)}
        />
        <AnyOfSelect
          label="Type"
          name="alert_type"
          value={filters.alertType}
          choices={ALERT_TYPES}
          onChange={(v) => set('alertType', v)}
        />
        <label>
          Segment id
          <input
            name="segment_id"
            type="search"
            list="alerts-segment-options"
            value={segmentText}
            maxLength={128}
            placeholder="any"
            onChange={(e) => setSegmentText(e.target.value)}
          />
        </label>
        <datalist id="alerts-segment-options">
          {segmentOptions.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </datalist>
        <label>
          Opened from (UTC)
          <input
            name="since"
            type="datetime-local"
            value={filters.from}
            aria-invalid={problems.from ? true : undefined}
            onChange={(e) => set('from', e.target.value)}
          />
          {problems.from && <span className="alerts-field-error">{problems.from}</span>}
        </label>
        <label>
          to (UTC)
          <input
            name="until"
            type="datetime-local"
            value={filters.to}
            aria-invalid={problems.to ? true : undefined}
            onChange={(e) => set('to', e.target.value)}
          />
          {problems.to && (
            <span className="alerts-field-error" role="alert">
              {problems.to}
            </span>
          )}
        </label>
        <button
          type="button"
          disabled={!filtered}
          onClick={() => {
            setFilters(EMPTY_FILTERS);
            setSegmentText('');
          }}
        >
          Clear filters
        </button>
      </form>
      {error && (
        <p className="alerts-error" role="alert">
          Could not load the history: {error}
        </p>
      )}
      {rows && rows.length === 0 && !error && <p className="alerts-muted">No alerts match these filters.</p>}
      {rows && rows.length > 0 && (
        <div className="alerts-table-wrap alerts-history-wrap">
          <table className="alerts-table" data-testid="history-table">
            <thead>
              <tr>
                <th scope="col">Opened (UTC)</th>
                <th scope="col">Resolved (UTC)</th>
                <th scope="col">Severity</th>
                <th scope="col">Type</th>
                <th scope="col">Segment</th>
                <th scope="col">State</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((alert) => (
                <tr key={alert.alert_id} data-alert-id={alert.alert_id}>
                  <td className="alerts-num">{shortUtc(alert.opened_at)}</td>
                  <td className="alerts-num">
                    {alert.resolved_at ? shortUtc(alert.resolved_at) : '—'}
                  </td>
                  <td>
                    <SeverityBadge severity={alert.severity} />
                  </td>
                  <td>{alert.alert_type}</td>
                  <td>
                    <SegmentLink segmentId={alert.segment_id} name={nameOf(alert.segment_id)} />
                  </td>
                  <td>
                    <StateBadge state={alert.state} />
                  </td>
                  <DetailsCell alert={alert}>
                    {alert.acknowledged_at && (
                      <span className="alerts-muted alerts-small">
                        acknowledged {formatDateTimeUtc(alert.acknowledged_at)}
                      </span>
                    )}
                  </DetailsCell>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export default function AlertsPage() {
  const { network } = useLive();
  const nameOf = useCallback(
    (segmentId: string | null) =>
      segmentId && network.state === 'ready' ? network.byId.get(segmentId)?.name || undefined : undefined,
    [network],
  );
  const segmentOptions = useMemo(
    () =>
      network.state === 'ready' && network.segments.length <= 5000
        ? network.segments.map((s) => ({ id: s.segment_id, name: s.name }))
        : [],
    [network],
  );

  // The history follows changes too, at most every two seconds however many arrive.
  const [refreshTick, setRefreshTick] = useState(0);
  const [changed, setChanged] = useState<AlertRecord | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refresh = useCallback(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setRefreshTick((n) => n + 1);
    }, 2000);
  }, []);
  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);
  useReconnect(refresh);
  const onChange = useCallback(
    (alert: AlertRecord) => {
      setChanged(alert);
      refresh();
    },
    [refresh],
  );

  return (
    <div className="page-stack alerts-page">
      <h1 className="page-title">Alerts</h1>
      <ActiveAlerts nameOf={nameOf} onChange={onChange} />
      <HistoryTable nameOf={nameOf} segmentOptions={segmentOptions} refreshTick={refreshTick} changed={changed} />
      <section className="card card-stack" aria-labelledby="alerts-rule-heading" data-testid="alert-rule">
        <header className="card-header">
          <h2 id="alerts-rule-heading" className="card-title">Congestion rule</h2>
          <span className="alerts-muted alerts-small">
            Speed as a share of each segment's free-flow speed, in whole 5-minute windows
          </span>
        </header>
        <RuleEditor />
      </section>
    </div>
  );
}
