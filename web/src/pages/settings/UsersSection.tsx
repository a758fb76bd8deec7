// Settings → Users (admins): the accounts, adding one, changing role and tier,
// disabling and enabling, setting a new password.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { describeError, isAbort } from '../../api';
import { useAuth } from '../../auth/AuthProvider';
import { ROLES, TIERS, type UserRecord } from '../../auth/types';
import {
  hasErrors,
  PASSWORD_HINT,
  passwordProblem,
  serverErrors,
  validateNewUser,
  type FormErrors,
  type NewUserForm,
} from '../../auth/validation';
import { formatDateTimeUtc } from '../../format';
import { changeUser, createUser, fetchUsers, type UserChange } from './accountsApi';

/** Roles a person can have (the machine role "api" is for keys, but a user may hold it too). */
const ROLE_HELP: Record<string, string> = {
  viewer: 'reads the dashboard and data',
  analyst: 'also acknowledges alerts, retrains, exports',
  admin: 'everything, including users and keys',
  api: 'machine client: reads and sends traffic events',
};

export function FieldMessage({ id, error, hint }: { id: string; error?: string; hint?: ReactNode }) {
  if (error) {
    return (
      <p className="settings-error" id={id} role="alert">
        {error}
      </p>
    );
  }
  return hint ? (
    <p className="settings-hint" id={id}>
      {hint}
    </p>
  ) : null;
}

function NewUser({ onAdded }: { onAdded: (user: UserRecord) => void }) {
  const id = useId();
  const empty: NewUserForm = { username: '', password: '', role: 'viewer', tier: 'standard' };
  const [form, setForm] = useState<NewUserForm>(empty);
  const [errors, setErrors] = useState<FormErrors<keyof NewUserForm>>({});
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);

  const edit = (key: keyof NewUserForm, value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => (e[key] || e.form ? { ...e, [key]: undefined, form: undefined } : e));
    setStatus(null);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = validateNewUser(form);
    setErrors(checked);
    if (hasErrors(checked)) return;
    setBusy(true);
    createUser(form).then(
      (user) => {
        onAdded(user);
        setForm(empty);
        setStatus(`Added ${user.username} (${user.role}, ${user.tier}).`);
        setBusy(false);
      },
      (error: unknown) => {
        setErrors(serverErrors(error, ['username', 'password', 'role', 'tier'] as const, 'username'));
        setBusy(false);
      },
    );
  };
  const n = [...form.password].length;
  return (
    <form className="settings-account-form" onSubmit={submit} noValidate aria-label="Add a user" data-testid="new-user-form">
      <div className="settings-field">
        <label htmlFor={`${id}-username`}>User name</label>
        <input
          id={`${id}-username`}
          className="settings-text"
          value={form.username}
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          onChange={(e) => edit('username', e.target.value)}
          aria-invalid={errors.username ? true : undefined}
          aria-describedby={`${id}-username-msg`}
          data-testid="new-user-username"
        />
        <FieldMessage id={`${id}-username-msg`} error={errors.username} hint="letters, digits, . _ @ -" />
      </div>
      <div className="settings-field">
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          className="settings-text"
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={(e) => edit('password', e.target.value)}
          aria-invalid={errors.password ? true : undefined}
          aria-describedby={`${id}-password-msg`}
          data-testid="new-user-password"
        />
        <FieldMessage id={`${id}-password-msg`} error={errors.password} hint={`${PASSWORD_HINT}${n ? ` · ${n}` : ''}`} />
      </div>
      <div className="settings-field">
        <label htmlFor={`${id}-role`}>Role</label>
        <select
          id={`${id}-role`}
          value={form.role}
          onChange={(e) => edit('role', e.target.value)}
          aria-describedby={`${id}-role-msg`}
          data-testid="new-user-role"
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <FieldMessage id={`${id}-role-msg`} error={errors.role} hint={ROLE_HELP[form.role]} />
      </div>
      <div className="settings-field">
        <label htmlFor={`${id}-tier`}>Tier</label>
        <select id={`${id}-tier`} value={form.tier} onChange={(e) => edit('tier', e.target.value)} data-testid="new-user-tier">
          {TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <FieldMessage id={`${id}-tier-msg`} error={errors.tier} hint="rate-limit class" />
      </div>
      <div className="settings-account-submit">
        <button type="submit" className="button-primary" disabled={busy} data-testid="new-user-submit">
          {busy ? 'Adding…' : 'Add user'}
        </button>
      </div>
      {errors.form && (
        <p className="settings-error settings-form-error" role="alert">
          {errors.form}
        </p>
      )}
      <p className="settings-status settings-form-error" role="status" data-testid="new-user-status">
        {status}
      </p>
    </form>
  );
}

type RowMode = { kind: 'idle' } | { kind: 'confirm-disable' } | { kind: 'password' };

function UserRow({ user, isSelf, onChanged }: { user: UserRecord; isSelf: boolean; onChanged: (user: UserRecord) => void }) {
  const id = useId();
  const [mode, setMode] = useState<RowMode>({ kind: 'idle' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | undefined>();
  const passwordInput = useRef<HTMLInputElement>(null);
  // The row's password form opens on request: the cursor goes into it.
  useEffect(() => {
    if (mode.kind === 'password') passwordInput.current?.focus();
  }, [mode.kind]);

  const apply = (change: UserChange, done: string): Promise<boolean> => {
    setBusy(true);
    setProblem(null);
    setNote(null);
    return changeUser(user.username, change).then(
      (next) => {
        onChanged(next);
        setBusy(false);
        setNote(done);
        return true;
      },
      (error: unknown) => {
        const messages = serverErrors(error, ['password'] as const);
        if (messages.password) setPasswordError(messages.password);
        else setProblem(messages.form ?? describeError(error));
        setBusy(false);
        return false;
      },
    );
  };
  const savePassword = (event: FormEvent) => {
    event.preventDefault();
    const bad = passwordProblem(password);
    setPasswordError(bad ?? undefined);
    if (bad) return;
    void apply({ password }, 'New password set; their sessions ended.').then((ok) => {
      if (ok) {
        setPassword('');
        setMode({ kind: 'idle' });
      }
    });
  };

  return (
    <>
      <tr data-username={user.username} className={user.disabled ? 'settings-row-off' : undefined}>
        <th scope="row" className="settings-user-name">
          {user.username}
          {isSelf && <span className="settings-you"> (you)</span>}
        </th>
        <td>
          <select
            aria-label={`Role of ${user.username}`}
            value={user.role}
            disabled={busy}
            onChange={(e) => void apply({ role: e.target.value }, `Role set to ${e.target.value}.`)}
            data-testid="user-role"
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </td>
        <td>
          <select
            aria-label={`Tier of ${user.username}`}
            value={user.tier}
            disabled={busy}
            onChange={(e) => void apply({ tier: e.target.value }, `Tier set to ${e.target.value}.`)}
            data-testid="user-tier"
          >
            {TIERS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </td>
        <td data-testid="user-state">{user.disabled ? 'disabled' : 'enabled'}</td>
        <td className="settings-num">{user.last_login_at ? formatDateTimeUtc(user.last_login_at) : 'never'}</td>
        <td className="settings-num">{formatDateTimeUtc(user.created_at)}</td>
        <td className="settings-row-actions">
          {user.disabled ? (
            <button type="button" disabled={busy} onClick={() => void apply({ disabled: false }, 'Enabled.')} data-testid="user-enable">
              Enable
            </button>
          ) : (
            <button
              type="button"
              disabled={busy}
              aria-pressed={mode.kind === 'confirm-disable'}
              onClick={() => setMode({ kind: 'confirm-disable' })}
              data-testid="user-disable"
            >
              Disable…
            </button>
          )}
          <button
            type="button"
            disabled={busy}
            aria-pressed={mode.kind === 'password'}
            onClick={() => {
              setPasswordError(undefined);
              setMode({ kind: 'password' });
            }}
            data-testid="user-password"
          >
            Set password…
          </button>
        </td>
      </tr>
      {(problem || note) && mode.kind === 'idle' && (
        <tr className="settings-subrow">
          <td colSpan={7}>
            {problem ? (
              <span className="settings-error" role="alert">
                {problem}
              </span>
            ) : (
              <span className="settings-status" role="status">
                {user.username}: {note}
              </span>
            )}
          </td>
        </tr>
      )}
      {mode.kind === 'confirm-disable' && (
        <tr className="settings-subrow">
          <td colSpan={7}>
            <div className="settings-confirm" role="alertdialog" aria-labelledby={`${id}-disable`}>
              <span id={`${id}-disable`}>
                Disable {user.username}? {isSelf ? 'You will be signed out. ' : ''}Their sessions end at once; they
                cannot sign in until enabled again.
              </span>
              <button
                type="button"
                className="button-primary"
                disabled={busy}
                onClick={() => void apply({ disabled: true }, 'Disabled.').then(() => setMode({ kind: 'idle' }))}
                data-testid="user-disable-confirm"
              >
                Disable
              </button>
              <button type="button" onClick={() => setMode({ kind: 'idle' })}>
                Cancel
              </button>
            </div>
          </td>
        </tr>
      )}
      {mode.kind === 'password' && (
        <tr className="settings-subrow">
          <td colSpan={7}>
            <form className="settings-confirm" onSubmit={savePassword} noValidate aria-label={`New password for ${user.username}`}>
              <label htmlFor={`${id}-pw`}>New password for {user.username}</label>
              <input
                id={`${id}-pw`}
                className="settings-text"
                type="password"
                autoComplete="new-password"
                value={password}
                ref={passwordInput}
                onChange={(e) => {
                  setPassword(e.target.value);
                  setPasswordError(undefined);
                }}
                onKeyDown={(e) => e.key === 'Escape' && setMode({ kind: 'idle' })}
                aria-invalid={passwordError ? true : undefined}
                aria-describedby={`${id}-pw-msg`}
                data-testid="user-password-input"
              />
              <button type="submit" className="button-primary" disabled={busy} data-testid="user-password-save">
                {busy ? 'Saving…' : 'Set password'}
              </button>
              <button type="button" onClick={() => setMode({ kind: 'idle' })}>
                Cancel
              </button>
              <FieldMessage
                id={`${id}-pw-msg`}
                error={passwordError}
                hint={`${PASSWORD_HINT}; their sessions end${isSelf ? ', including yours' : ''}`}
              />
            </form>
          </td>
        </tr>
      )}
    </>
  );
}

export function UsersSection() {
  const { session, client } = useAuth();
  const [users, setUsers] = useState<UserRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    fetchUsers(controller.signal).then(
      (answer) => setUsers(answer.users),
      (failure: unknown) => {
        if (!isAbort(failure)) setError(describeError(failure));
      },
    );
    return () => controller.abort();
  }, [attempt]);

  const self = session?.user.username ?? null;
  const changed = useCallback(
    (user: UserRecord) => {
      setUsers((list) => {
        const rest = (list ?? []).filter((u) => u.username !== user.username);
        return [...rest, user].sort((a, b) => a.username.localeCompare(b.username));
      });
      // Our own role, tier or status changed: renew the session so the dashboard follows
      // (a disable or new password ends it, and the login screen appears).
      if (user.username === self) void client.refresh();
    },
    [client, self],
  );
  const sorted = users ? [...users].sort((a, b) => a.username.localeCompare(b.username)) : null;

  return (
    <section className="card card-stack settings-card" aria-labelledby="settings-users-heading" data-testid="users-section">
      <header className="card-header">
        <h2 id="settings-users-heading" className="card-title">Users</h2>
        <span className="settings-hint">who may sign in, and what their role lets them do (admins only)</span>
      </header>
      <NewUser onAdded={changed} />
      {error && (
        <div className="settings-error" role="alert">
          Could not load the users: {error}{' '}
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Retry
          </button>
        </div>
      )}
      {!sorted && !error && <p className="settings-hint">Loading users…</p>}
      {sorted && (
        <div className="settings-table-wrap">
          <table className="data-table data-table-compact settings-table" data-testid="users-table">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Tier</th>
                <th scope="col">Status</th>
                <th scope="col">Last sign-in (UTC)</th>
                <th scope="col">Added (UTC)</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((u) => (
                <UserRow key={u.username} user={u} isSelf={u.username === self} onChanged={changed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
