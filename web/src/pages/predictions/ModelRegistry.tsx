// The model registry: every trained version with its training window and errors,
// which one serves live, and promote / roll back with a confirmation step.
import { RoleButton } from '../../auth/RoleButton';
import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import { formatDateTimeUtc, speedUnitLabel, type SpeedUnit } from '../../format';
import { describeError, isAbort } from '../../api';
import { usePreferences } from '../../preferences';
import {
  fetchModel,
  promoteModel,
  rollbackModel,
  type ModelDetail,
  type ModelList,
  type ModelSummary,
} from './api';
import {
  GROUP_HORIZONS,
  HEADLINE_HORIZONS,
  candidateScores,
  chosenCounts,
  chosenLabel,
  describeGrouping,
  describeWindow,
  errorUnit,
  formatCoverage,
  formatError,
  groupRows,
  headlineMae,
  metricRows,
  modelStatus,
  quantitiesOf,
} from './metrics';
import type { Loaded } from './useLoad';

type Pending = { action: 'promote'; version: string } | { action: 'rollback' };
interface Outcome {
  tone: 'ok' | 'error';
  text: string;
}

/** The header of a column of MaeCells: what it is, at which horizons, in which unit. */
function MaeHeader({ title, unit }: { title: string; unit: SpeedUnit }) {
  return (
    <th scope="col" className="num">
      {title}
      <small>
        {HEADLINE_HORIZONS.join(' · ')} min, {speedUnitLabel(unit)}
      </small>
    </th>
  );
}

function MaeCell({ values, unit, testId }: { values: (number | null)[]; unit: SpeedUnit; testId: string }) {
  return (
    <td className="num predictions-mae" data-testid={testId}>
      {values.map((value, i) => (
        <span key={HEADLINE_HORIZONS[i]} data-horizon={HEADLINE_HORIZONS[i]}>
          {formatError(value, 'speed', unit)}
        </span>
      ))}
    </td>
  );
}

function StatusBadge({ model }: { model: ModelSummary }) {
  const status = modelStatus(model);
  if (status === 'live') return <span className="predictions-badge predictions-badge-live">Live</span>;
  if (status === 'promoted')
    return (
      <span className="predictions-badge predictions-badge-warn" title="Promoted, but it could not be loaded: the interim forecaster serves">
        Promoted
      </span>
    );
  return <span className="predictions-muted">—</span>;
}

/** A grouped model's segment groups: each group's size, choice and MAE for `quantity`. */
function GroupsSection({
  metadata,
  quantity,
  version,
  unit,
}: {
  metadata: Record<string, unknown>;
  quantity: string;
  version: string;
  unit: SpeedUnit;
}) {
  const rows = groupRows(metadata, quantity);
  const summary = describeGrouping(metadata);
  if (rows === null || summary === null) return null;
  const errUnit = errorUnit(quantity, unit);
  return (
    <section className="predictions-groups" aria-labelledby={`groups-${version}`} data-testid="model-groups">
      <h4 id={`groups-${version}`} className="predictions-subtitle">
        Segment groups
      </h4>
      <p className="predictions-groups-summary" data-testid="groups-summary">
        {summary}. <span className="predictions-muted">Each group has its own model; the scores above are the network&apos;s, over every group&apos;s errors.</span>
      </p>
      {rows.length === 0 ? (
        <p className="predictions-muted">No group record could be read.</p>
      ) : (
        <div className="predictions-table-wrap">
          <table className="data-table predictions-table predictions-groups-table" data-testid="groups-table">
            <caption className="visually-hidden">
              {quantity} model chosen and MAE in {errUnit} per segment group of {version}
            </caption>
            <thead>
              <tr>
                <th scope="col" rowSpan={2}>
                  Group
                </th>
                <th scope="col" rowSpan={2} className="num">
                  Segments
                </th>
                <th scope="col" rowSpan={2}>
                  Model ({quantity})
                </th>
                <th scope="colgroup" colSpan={GROUP_HORIZONS.length} className="num">
                  Val MAE <small>{errUnit}</small>
                </th>
                <th scope="colgroup" colSpan={GROUP_HORIZONS.length} className="num">
                  Test MAE <small>{errUnit}</small>
                </th>
              </tr>
              <tr>
                {['val', 'test'].map((slice) =>
                  GROUP_HORIZONS.map((h) => (
                    <th key={`${slice}-${h}`} scope="col" className="num">
                      {h} min
                    </th>
                  )),
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.name} data-group={r.name}>
                  <th scope="row">{r.name}</th>
                  <td className="num" data-testid="group-segments">
                    {r.segments ?? '—'}
                  </td>
                  <td data-testid="group-chosen">{r.chosen ?? '—'}</td>
                  {r.validationMae.map((v, i) => (
                    <td key={`val-${GROUP_HORIZONS[i]}`} className="num" data-slice="validation" data-horizon={GROUP_HORIZONS[i]}>
                      {formatError(v, quantity, unit)}
                    </td>
                  ))}
                  {r.testMae.map((v, i) => (
                    <td key={`test-${GROUP_HORIZONS[i]}`} className="num" data-slice="test" data-horizon={GROUP_HORIZONS[i]}>
                      {formatError(v, quantity, unit)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DetailPane({ version, unit }: { version: string; unit: SpeedUnit }) {
  const [detail, setDetail] = useState<ModelDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [quantity, setQuantity] = useState('speed');

  useEffect(() => {
    const controller = new AbortController();
    fetchModel(version, controller.signal).then(setDetail, (e: unknown) => {
      if (!isAbort(e)) setError(describeError(e));
    });
    return () => controller.abort();
  }, [version]);

  if (error) return <p role="alert" className="predictions-error">Could not load {version}: {error}</p>;
  if (!detail) return <p className="predictions-muted">Loading {version}…</p>;
  const quantities = quantitiesOf(detail);
  const shown = quantities.includes(quantity) ? quantity : (quantities[0] ?? 'speed');
  const rows = metricRows(detail.validation?.[shown], detail.test?.[shown]);
  const candidates = candidateScores(detail.metadata, shown, detail.kind);
  const counts = chosenCounts(detail.metadata, shown);
  const meta = detail.metadata;
  const source = typeof meta.source === 'string' ? meta.source : '—';
  const seconds = typeof meta.train_seconds === 'number' ? `${meta.train_seconds.toFixed(1)} s` : '—';
  const window = describeWindow(detail.training_window);
  const errUnit = errorUnit(shown, unit);
  return (
    <div className="predictions-detail" data-testid={`model-detail-${version}`}>
      <dl className="predictions-facts">
        <div>
          <dt>Source</dt>
          <dd data-testid="model-source">{source}</dd>
        </div>
        <div>
          <dt>Training window</dt>
          <dd>
            {window.range} <span className="predictions-muted">({window.size})</span>
          </dd>
        </div>
        <div>
          <dt>Trained in</dt>
          <dd>{seconds}</dd>
        </div>
        <div>
          <dt>Horizons</dt>
          <dd>{detail.horizons_minutes.length ? `${detail.horizons_minutes.join(', ')} min` : '—'}</dd>
        </div>
      </dl>
      {quantities.length > 1 && (
        <div className="predictions-segmented" role="group" aria-label="Quantity">
          {quantities.map((q) => (
            <button key={q} type="button" aria-pressed={q === shown} onClick={() => setQuantity(q)}>
              {q}
            </button>
          ))}
        </div>
      )}
      {candidates.length > 0 && (
        <p className="predictions-candidates" data-testid="model-candidates">
          Candidates by mean validation MAE ({errUnit}):{' '}
          {candidates.map((c, i) => (
            <Fragment key={c.kind}>
              {i > 0 && ' · '}
              <span
                className={(counts ? (counts.byKind[c.kind] ?? 0) > 0 : c.chosen) ? 'predictions-chosen' : undefined}
                data-kind={c.kind}
              >
                {c.kind} {formatError(c.meanMae, shown, unit)}
                {chosenLabel(c, counts)}
              </span>
            </Fragment>
          ))}
        </p>
      )}
      {rows.length === 0 ? (
        <p className="predictions-muted">No metrics recorded for {shown}.</p>
      ) : (
        <table className="data-table predictions-table predictions-metrics">
          <caption className="visually-hidden">
            {shown} errors of {version} per horizon
          </caption>
          <thead>
            <tr>
              <th scope="col">Horizon</th>
              <th scope="col">Val MAE</th>
              <th scope="col">Val RMSE</th>
              <th scope="col">Val 80 % cover</th>
              <th scope="col">Test MAE</th>
              <th scope="col">Test RMSE</th>
              <th scope="col">Test 80 % cover</th>
              <th scope="col">Persistence test MAE</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.horizon}>
                <th scope="row">{r.horizon} min</th>
                <td className="num">{formatError(r.validationMae, shown, unit)}</td>
                <td className="num">{formatError(r.validationRmse, shown, unit)}</td>
                <td className="num">{formatCoverage(r.validationCoverage)}</td>
                <td className="num">{formatError(r.testMae, shown, unit)}</td>
                <td className="num">{formatError(r.testRmse, shown, unit)}</td>
                <td className="num">{formatCoverage(r.testCoverage)}</td>
                <td className="num">{formatError(r.persistenceMae, shown, unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <GroupsSection metadata={detail.metadata} quantity={shown} version={version} unit={unit} />
      <p className="predictions-note">
        Errors in {errUnit}. Validation chose the model and calibrated its bands (so its coverage is close to 80 % by
        construction); the test slice came after and was never seen in training.
      </p>
    </div>
  );
}

export function ModelRegistry({
  models,
  highlight,
  promoteRequest,
  onPromoteRequestHandled,
}: {
  models: Loaded<ModelList>;
  highlight: string | null;
  promoteRequest: string | null;
  onPromoteRequestHandled: () => void;
}) {
  const { unit } = usePreferences();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const sectionRef = useRef<HTMLElement>(null);

  useEffect(() => {
    if (!promoteRequest) return;
    setPending({ action: 'promote', version: promoteRequest });
    setOutcome(null);
    sectionRef.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    onPromoteRequestHandled();
  }, [promoteRequest, onPromoteRequestHandled]);

  useEffect(() => {
    if (pending) confirmRef.current?.focus();
  }, [pending]);

  const toggle = useCallback((version: string) => {
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(version)) next.delete(version);
      else next.add(version);
      return next;
    });
  }, []);

  const confirm = useCallback(() => {
    if (!pending) return;
    setBusy(true);
    const request = pending.action === 'promote' ? promoteModel(pending.version) : rollbackModel();
    request.then(
      (list) => {
        models.set(list);
        const text =
          pending.action === 'promote'
            ? `Promoted ${pending.version}; ${list.live_model_version} now serves the live forecasts.`
            : `Rolled back; ${list.live_model_version} now serves the live forecasts.`;
        setOutcome({ tone: 'ok', text });
        setPending(null);
        setBusy(false);
      },
      (error: unknown) => {
        setOutcome({ tone: 'error', text: describeError(error) });
        setPending(null);
        setBusy(false);
      },
    );
  }, [pending, models]);

  const list = models.data;
  const anyPromoted = list?.models.some((m) => m.promoted) ?? false;
  return (
    <section className="card card-stack predictions-span-2" aria-labelledby="registry-title" ref={sectionRef} data-testid="registry-card">
      <header className="card-header predictions-card-header">
        <h3 id="registry-title" className="card-title">Model registry</h3>
        {list && (
          <span className="predictions-muted" data-testid="live-model">
            Serving live: <strong>{list.live_model_version}</strong>
            {!list.models.some((m) => m.live) && ' (the interim forecaster)'}
          </span>
        )}
        <div className="predictions-card-actions">
          <button type="button" onClick={models.reload} disabled={models.loading}>
            Refresh
          </button>
          <RoleButton
            capability="models.manage"
            type="button"
            onClick={() => {
              setOutcome(null);
              setPending({ action: 'rollback' });
            }}
            disabled={!anyPromoted || busy}
            data-testid="rollback"
          >
            Roll back…
          </RoleButton>
        </div>
      </header>
      {pending && (
        <div className="predictions-confirm" role="alertdialog" aria-labelledby="confirm-text" data-testid="confirm">
          <p id="confirm-text">
            {pending.action === 'promote'
              ? `Promote ${pending.version}? It serves the live forecasts from the next window close on.`
              : 'Roll back to the version promoted before the current one? It serves from the next window close on.'}
          </p>
          <button
            type="button"
            ref={confirmRef}
            className="predictions-primary"
            onClick={confirm}
            disabled={busy}
            data-testid="confirm-yes"
          >
            {pending.action === 'promote' ? 'Promote' : 'Roll back'}
          </button>
          <button type="button" onClick={() => setPending(null)} disabled={busy}>
            Cancel
          </button>
        </div>
      )}
      {outcome && (
        <p
          className={outcome.tone === 'ok' ? 'predictions-ok' : 'predictions-error'}
          role={outcome.tone === 'ok' ? 'status' : 'alert'}
          data-testid="registry-outcome"
        >
          {outcome.text}
        </p>
      )}
      {models.error && (
        <p className="predictions-error" role="alert">
          Could not load the registry: {models.error}
        </p>
      )}
      {!list && !models.error && <p className="predictions-muted">Loading models…</p>}
      {list && list.models.length === 0 && (
        <p className="predictions-muted" data-testid="registry-empty">
          No model has been trained yet: the interim forecaster serves. Start a retraining below.
        </p>
      )}
      {list && list.models.length > 0 && (
        <div className="predictions-table-wrap">
          <table className="data-table predictions-table predictions-registry" data-testid="model-registry">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
                <th scope="col">Version</th>
                <th scope="col">Kind</th>
                <th scope="col">Training window</th>
                <th scope="col">Created</th>
                <MaeHeader title="Validation MAE" unit={unit} />
                <MaeHeader title="Test MAE" unit={unit} />
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.models.map((m) => {
                const open = expanded.has(m.version);
                const window = describeWindow(m.training_window);
                return (
                  <Fragment key={m.version}>
                    <tr data-version={m.version} className={m.version === highlight ? 'predictions-highlight' : undefined}>
                      <td>
                        <button
                          type="button"
                          className="predictions-disclosure"
                          aria-expanded={open}
                          aria-label={`${open ? 'Hide' : 'Show'} details of ${m.version}`}
                          onClick={() => toggle(m.version)}
                        >
                          {open ? '▾' : '▸'}
                        </button>
                      </td>
                      <td className="predictions-version" data-testid="model-version">
                        {m.version}
                      </td>
                      <td>{m.kind}</td>
                      <td>
                        <div>{window.range}</div>
                        <div className="predictions-muted">{window.size}</div>
                      </td>
                      <td>{formatDateTimeUtc(m.created_at)}</td>
                      <MaeCell values={headlineMae(m, 'validation')} unit={unit} testId="val-mae" />
                      <MaeCell values={headlineMae(m, 'test')} unit={unit} testId="test-mae" />
                      <td data-testid="model-status">
                        <StatusBadge model={m} />
                      </td>
                      <td>
                        <RoleButton
                          capability="models.manage"
                          type="button"
                          onClick={() => {
                            setOutcome(null);
                            setPending({ action: 'promote', version: m.version });
                          }}
                          disabled={m.promoted || busy}
                          aria-label={`Promote ${m.version}`}
                          data-testid="promote"
                        >
                          Promote…
                        </RoleButton>
                      </td>
                    </tr>
                    {open && (
                      <tr className="predictions-detail-row">
                        <td colSpan={9}>
                          <DetailPane version={m.version} unit={unit} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
