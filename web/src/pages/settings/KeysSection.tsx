// Settings → API keys (admins): the keys by prefix, creating one (its secret is
// shown once, here, and never again) and revoking one.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { describeError, isAbort } from '../../api';
import { ROLES, TIERS, type ApiKeyRecord, type CreatedApiKey } from '../../auth/types';
import { hasErrors, KEY_NAME_MAX, keyNameProblem, serverErrors, type FormErrors } from '../../auth/validation';
import { formatDateTimeUtc } from '../../format';
import { createKey, fetchKeys, revokeKey } from './accountsApi';
import { FieldMessage } from './UsersSection';

interface KeyForm {
  name: string;
  role: string;
  tier: string;
}

/** Active keys first, newest first within each group. */
export function sortKeys(keys: readonly ApiKeyRecord[]): ApiKeyRecord[] {
  return [...keys].sort((a, b) => {
    if ((a.revoked_at === null) !== (b.revoked_at === null)) return a.revoked_at === null ? -1 : 1;
    return b.created_at.localeCompare(a.created_at);
  });
}

/** The new key, once: a read-only box to copy it from and the warning that it will not come back. */
function NewKeyBox({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const box = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  useEffect(() => {
    box.current?.focus();
    box.current?.select();
  }, []);
  const copy = () => {
    const done = () => setCopied('yes');
    const manual = () => {
      // No clipboard API (plain http to a remote host): select it so Ctrl+C copies it.
      box.current?.select();
      setCopied('no');
    };
    if (navigator.clipboard?.writeText) navigator.clipboard.writeText(created.key).then(done, manual);
    else manual();
  };
  return (
    <div className="settings-new-key" role="region" aria-labelledby="settings-new-key-title" data-testid="new-key">
      <p id="settings-new-key-title" className="settings-new-key-title">
        Key <strong>{created.name}</strong> created ({created.role}, {created.tier})
      </p>
      <p className="settings-warning" data-testid="new-key-warning">
        Copy it now: it will not be shown again. Only its prefix <code>{created.prefix}</code> is kept in the list.
      </p>
      <div className="settings-new-key-row">
        <input
          ref={box}
          className="settings-text settings-key-text"
          readOnly
          value={created.key}
          aria-label="The new API key"
          onFocus={(e) => e.target.select()}
          data-testid="new-key-value"
        />
        <button type="button" onClick={copy} data-testid="new-key-copy">
          Copy
        </button>
        <button type="button" className="button-primary" onClick={onDone} data-testid="new-key-done">
          I have copied it
        </button>
      </div>
      <p className="settings-status" role="status">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'no' && 'Copying is blocked here: the key is selected, press Ctrl+C (⌘C).'}
      </p>
      <p className="settings-hint">
        Clients send it as <code>X-API-Key: …</code>; the server keeps only a hash.
      </p>
    </div>
  );
}

function NewKey({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const id = useId();
  const empty: KeyForm = { name: '', role: 'api', tier: 'standard' };
  const [form, setForm] = useState<KeyForm>(empty);
  const [errors, setErrors] = useState<FormErrors<keyof KeyForm>>({});
  const [busy, setBusy] = useState(false);
  const edit = (key: keyof KeyForm, value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => (e[key] || e.form ? { ...e, [key]: undefined, form: undefined } : e));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const name = keyNameProblem(form.name);
    const checked: FormErrors<keyof KeyForm> = name ? { name } : {};
    setErrors(checked);
    if (hasErrors(checked)) return;
    setBusy(true);
    createKey({ ...form, name: form.name.trim() }).then(
      (created) => {
        onCreated(created);
        setForm(empty);
        setBusy(false);
      },
      (error: unknown) => {
        setErrors(serverErrors(error, ['name', 'role', 'tier'] as const, 'name'));
        setBusy(false);
      },
    );
  };
  return (
    <form className="settings-account-form" onSubmit={submit} noValidate aria-label="Create an API key" data-testid="new-key-form">
      <div className="settings-field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          className="settings-text"
          value={form.name}
          maxLength={KEY_NAME_MAX}
          autoComplete="off"
          placeholder="e.g. loop detectors, city A"
          onChange={(e) => edit('name', e.target.value)}
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={`${id}-name-msg`}
          data-testid="new-key-name"
        />
        <FieldMessage id={`${id}-name-msg`} error={errors.name} hint="who or what uses it" />
      </div>
      <div className="settings-field">
        <label htmlFor={`${id}-role`}>Role</label>
        <select id={`${id}-role`} value={form.role} onChange={(e) => edit('role', e.target.value)} data-testid="new-key-role">
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <FieldMessage id={`${id}-role-msg`} error={errors.role} hint={form.role === 'api' ? 'read + send events' : undefined} />
      </div>
      <div className="settings-field">
        <label htmlFor={`${id}-tier`}>Tier</label>
        <select id={`${id}-tier`} value={form.tier} onChange={(e) => edit('tier', e.target.value)} data-testid="new-key-tier">
          {TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <FieldMessage id={`${id}-tier-msg`} error={errors.tier} />
      </div>
      <div className="settings-account-submit">
        <button type="submit" className="button-primary" disabled={busy} data-testid="new-key-submit">
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </div>
      {errors.form && (
        <p className="settings-error settings-form-error" role="alert">
          {errors.form}
        </p>
      )}
    </form>
  );
}

function KeyRow({ apiKey, onRevoked }: { apiKey: ApiKeyRecord; onRevoked: (key: ApiKeyRecord) => void }) {
  const id = useId();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const revoke = () => {
    setBusy(true);
    setProblem(null);
    revokeKey(apiKey.prefix).then(
      (revoked) => {
        setBusy(false);
        setConfirming(false);
        onRevoked(revoked);
      },
      (error: unknown) => {
        setBusy(false);
        setProblem(describeError(error));
      },
    );
  };
  const revoked = apiKey.revoked_at !== null;
  return (
    <>
      <tr data-prefix={apiKey.prefix} className={revoked ? 'settings-row-off' : undefined}>
        <th scope="row">
          <code data-testid="key-prefix">{apiKey.prefix}</code>
        </th>
        <td className="settings-key-name">{apiKey.name}</td>
        <td>{apiKey.role}</td>
        <td>{apiKey.tier}</td>
        <td>{apiKey.created_by}</td>
        <td className="settings-num">{formatDateTimeUtc(apiKey.created_at)}</td>
        <td className="settings-num" data-testid="key-state">
          {revoked ? `revoked ${formatDateTimeUtc(apiKey.revoked_at)}` : 'active'}
        </td>
        <td className="settings-row-actions">
          {!revoked && (
            <button
              type="button"
              aria-pressed={confirming}
              onClick={() => setConfirming(true)}
              aria-label={`Revoke key ${apiKey.prefix}`}
              data-testid="key-revoke"
            >
              Revoke…
            </button>
          )}
        </td>
      </tr>
      {(confirming || problem) && (
        <tr className="settings-subrow">
          <td colSpan={8}>
            <div className="settings-confirm" role="alertdialog" aria-labelledby={`${id}-revoke`}>
              <span id={`${id}-revoke`}>
                Revoke <code>{apiKey.prefix}</code> ({apiKey.name})? Every client using it is refused from now on; this
                cannot be undone.
              </span>
              <button type="button" className="button-primary" onClick={revoke} disabled={busy} data-testid="key-revoke-confirm">
                {busy ? 'Revoking…' : 'Revoke'}
              </button>
              <button
                type="button"
                onClick={() => {
                  setConfirming(false);
                  setProblem(null);
                }}
              >
                Cancel
              </button>
              {problem && (
                <span className="settings-error" role="alert">
                  {problem}
                </span>
              )}
            </div>
          </td>
        </tr>
      )}
    </>
  );
}

export function KeysSection() {
  const [keys, setKeys] = useState<ApiKeyRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    fetchKeys(controller.signal).then(
      (answer) => setKeys(answer.keys),
      (failure: unknown) => {
        if (!isAbort(failure)) setError(describeError(failure));
      },
    );
    return () => controller.abort();
  }, [attempt]);

  const upsert = (key: ApiKeyRecord) => {
    // The list keeps the record only, never the secret of a new key.
    const record: ApiKeyRecord = {
      prefix: key.prefix,
      name: key.name,
      role: key.role,
      tier: key.tier,
      created_by: key.created_by,
      created_at: key.created_at,
      revoked_at: key.revoked_at,
    };
    setKeys((list) => [...(list ?? []).filter((k) => k.prefix !== key.prefix), record]);
  };
  const sorted = keys ? sortKeys(keys) : null;

  return (
    <section className="card card-stack settings-card" aria-labelledby="settings-keys-heading" data-testid="keys-section">
      <header className="card-header">
        <h2 id="settings-keys-heading" className="card-title">API keys</h2>
        <span className="settings-hint">for machine clients (X-API-Key); listed by prefix, the secret is never stored</span>
      </header>
      {created ? (
        <NewKeyBox created={created} onDone={() => setCreated(null)} />
      ) : (
        <NewKey
          onCreated={(key) => {
            setCreated(key);
            upsert(key);
          }}
        />
      )}
      {error && (
        <div className="settings-error" role="alert">
          Could not load the API keys: {error}{' '}
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Retry
          </button>
        </div>
      )}
      {!sorted && !error && <p className="settings-hint">Loading keys…</p>}
      {sorted && sorted.length === 0 && <p className="settings-hint">No API keys yet.</p>}
      {sorted && sorted.length > 0 && (
        <div className="settings-table-wrap">
          <table className="data-table data-table-compact settings-table" data-testid="keys-table">
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Tier</th>
                <th scope="col">Created by</th>
                <th scope="col">Created (UTC)</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((k) => (
                <KeyRow key={k.prefix} apiKey={k} onRevoked={upsert} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
