// The congestion rule's editor, on the alerts page and in settings: loads the
// stored rule, checks the form as the server would, saves it with PUT and shows
// each problem next to its field.
import { RoleButton, RoleNote } from '../../auth/RoleButton';
import { useCallback, useEffect, useId, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { useLive } from '../../live/LiveProvider';
import { ApiError, describeError } from '../../api';
import { fetchRule, saveRule, type CongestionRule } from './api';
import './ruleEditor.css';
import {
  DEFAULT_RULE,
  formFromRule,
  MAX_MINUTES,
  MIN_MINUTES,
  serverFieldErrors,
  validateRuleForm,
  type RuleErrors,
  type RuleField,
  type RuleForm,
} from './ruleForm';

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; saved: CongestionRule };
type Status = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved' } | { kind: 'error'; message: string };

function Field({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error: string | undefined;
  children: ReactNode;
}) {
  return (
    <div className={`alerts-rule-field${error ? ' alerts-rule-field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <p className="alerts-rule-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="alerts-rule-error" id={`${id}-error`} role="alert" data-testid={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

function describedBy(id: string, error: string | undefined, hint = false): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids || undefined;
}

export function RuleEditor({ heading = 'Congestion rule' }: { heading?: string }) {
  const { network } = useLive();
  const prefix = useId().replace(/:/g, '');
  const id = (name: string) => `rule-${prefix}-${name}`;
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [form, setForm] = useState<RuleForm>(() => formFromRule(DEFAULT_RULE));
  const [errors, setErrors] = useState<RuleErrors>({});
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ state: 'loading' });
    fetchRule(controller.signal).then(
      (rule) => {
        setLoad({ state: 'ready', saved: rule });
        setForm(formFromRule(rule));
        setErrors({});
      },
      (error: unknown) => {
        if (!controller.signal.aborted) {
          setLoad({ state: 'error', message: describeError(error) });
        }
      },
    );
    return () => controller.abort();
  }, [attempt]);

  const isKnown = useMemo(
    () => (network.state === 'ready' ? (sid: string) => network.byId.has(sid) : undefined),
    [network],
  );
  const savedForm = useMemo(() => (load.state === 'ready' ? formFromRule(load.saved) : null), [load]);
  const dirty = savedForm !== null && JSON.stringify(savedForm) !== JSON.stringify(form);

  const update = useCallback(<K extends keyof RuleForm>(key: K, value: RuleForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setStatus((s) => (s.kind === 'saved' ? { kind: 'idle' } : s));
    const field: RuleField = key === 'scopeAll' || key === 'scopeIds' ? 'scope' : key;
    setErrors((e) => {
      if (!e[field] && !e.form) return e;
      const next = { ...e };
      delete next[field];
      delete next.form;
      return next;
    });
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const checked = validateRuleForm(form, isKnown);
    setErrors(checked.errors);
    if (!checked.rule) {
      setStatus({ kind: 'idle' });
      return;
    }
    setStatus({ kind: 'saving' });
    try {
      // Fields this form does not edit (escalation) keep their stored values: the rule
      // is replaced whole by PUT.
      const stored = load.state === 'ready' ? load.saved : {};
      const saved = await saveRule({ ...stored, ...checked.rule });
      setLoad({ state: 'ready', saved });
      setForm(formFromRule(saved));
      setStatus({ kind: 'saved' });
    } catch (error) {
      if (error instanceof ApiError && error.status === 422 && error.fields.length > 0) {
        setErrors(serverFieldErrors(error.fields));
        setStatus({ kind: 'idle' });
      } else {
        setStatus({ kind: 'error', message: describeError(error) });
      }
    }
  };

  if (load.state === 'loading') return <p className="alerts-rule-muted">Loading the rule…</p>;
  if (load.state === 'error') {
    return (
      <div className="alerts-rule-load-error" role="alert">
        <p>Could not load the rule: {load.message}</p>
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>
          Retry
        </button>
      </div>
    );
  }

  const text = (
    field: 'openPercent' | 'openMinutes' | 'resolvePercent' | 'resolveMinutes' | 'majorPercent',
    unit: string,
    props: { min: number; max: number; step: number | 'any' },
  ) => (
    <span className="alerts-rule-input-unit">
      <input
        id={id(field)}
        name={field}
        type="number"
        inputMode="decimal"
        {...props}
        value={form[field]}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={describedBy(id(field), errors[field])}
        onChange={(e) => update(field, e.target.value)}
      />
      <span aria-hidden="true">{unit}</span>
    </span>
  );
  const minutes = { min: MIN_MINUTES, max: MAX_MINUTES, step: 5 };
  const percent = { min: 0, max: 150, step: 'any' as const };

  return (
    <form className="alerts-rule-form" onSubmit={submit} noValidate aria-label={heading} data-testid="rule-form">
      <div className="alerts-rule-toggle">
        <input
          id={id('enabled')}
          type="checkbox"
          checked={form.enabled}
          onChange={(e) => update('enabled', e.target.checked)}
        />
        <label htmlFor={id('enabled')}>Raise congestion alerts</label>
        {errors.enabled && <p className="alerts-rule-error" role="alert">{errors.enabled}</p>}
      </div>
      <div className="alerts-rule-grid">
        <Field id={id('openPercent')} label="Opens below (% of free-flow speed)" error={errors.openPercent}>
          {text('openPercent', '%', percent)}
        </Field>
        <Field id={id('openMinutes')} label="…held for (minutes)" error={errors.openMinutes}>
          {text('openMinutes', 'min', minutes)}
        </Field>
        <Field id={id('resolvePercent')} label="Resolves at or above (% of free-flow)" error={errors.resolvePercent}>
          {text('resolvePercent', '%', percent)}
        </Field>
        <Field id={id('resolveMinutes')} label="…held for (minutes)" error={errors.resolveMinutes}>
          {text('resolveMinutes', 'min', minutes)}
        </Field>
        <Field id={id('majorPercent')} label="Major below (% of free-flow), else minor" error={errors.majorPercent}>
          {text('majorPercent', '%', percent)}
        </Field>
      </div>
      <fieldset className="alerts-rule-scope" aria-describedby={describedBy(id('scope'), errors.scope)}>
        <legend>Segments</legend>
        <label className="alerts-rule-radio">
          <input type="radio" name={id('scope')} checked={form.scopeAll} onChange={() => update('scopeAll', true)} />
          All segments
        </label>
        <label className="alerts-rule-radio">
          <input type="radio" name={id('scope')} checked={!form.scopeAll} onChange={() => update('scopeAll', false)} />
          Only these segments
        </label>
        {!form.scopeAll && (
          <textarea
            id={id('scopeIds')}
            aria-label="Segment ids, one per line or separated by commas"
            rows={3}
            value={form.scopeIds}
            placeholder="one segment id per line"
            aria-invalid={errors.scope ? true : undefined}
            onChange={(e) => update('scopeIds', e.target.value)}
          />
        )}
        {errors.scope && (
          <p className="alerts-rule-error" id={`${id('scope')}-error`} role="alert" data-testid={`${id('scope')}-error`}>
            {errors.scope}
          </p>
        )}
      </fieldset>
      <Field
        id={id('notify')}
        label="Notify (one target per line)"
        hint="dashboard · webhook:https://… · email:ops@example.com. Every alert reaches the dashboard live; webhook and e-mail delivery arrive with the alert engine — targets are checked and kept now."
        error={errors.notify}
      >
        <textarea
          id={id('notify')}
          rows={3}
          value={form.notify}
          aria-invalid={errors.notify ? true : undefined}
          aria-describedby={describedBy(id('notify'), errors.notify, true)}
          onChange={(e) => update('notify', e.target.value)}
        />
      </Field>
      {errors.form && (
        <p className="alerts-rule-error" role="alert">
          {errors.form}
        </p>
      )}
      <RoleNote capability="alerts.rules" what="the rule" />
      <div className="alerts-rule-actions">
        <RoleButton capability="alerts.rules" type="submit" className="alerts-rule-save" disabled={status.kind === 'saving'}>
          {status.kind === 'saving' ? 'Saving…' : 'Save rule'}
        </RoleButton>
        <button
          type="button"
          disabled={!dirty}
          onClick={() => {
            if (savedForm) setForm(savedForm);
            setErrors({});
          }}
        >
          Discard changes
        </button>
        <button
          type="button"
          onClick={() => {
            setForm(formFromRule(DEFAULT_RULE));
            setErrors({});
          }}
        >
          Fill in defaults
        </button>
        <span className="alerts-rule-status" role="status" data-testid="rule-status">
          {status.kind === 'saved' && 'Saved; applies from the next 5-minute window.'}
          {status.kind === 'error' && <span className="alerts-rule-error">Not saved: {status.message}</span>}
          {status.kind === 'idle' && dirty && 'Unsaved changes'}
        </span>
      </div>
    </form>
  );
}
