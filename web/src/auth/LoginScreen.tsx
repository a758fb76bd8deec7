// The sign-in form: shown when an anonymous visitor may not read the dashboard,
// when a session ended, or when asked for from the header.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useAuth } from './AuthProvider';
import { LoginError } from './session';
import './auth.css';

type Status =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'error'; message: string }
  | { kind: 'limited'; message: string; until: number | null };

/** "1 min 5 s", "42 s": the wait before the next attempt. */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}

export function LoginScreen() {
  const { client, principal, session, notice } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [now, setNow] = useState(() => Date.now());
  const userField = useRef<HTMLInputElement>(null);
  const passwordField = useRef<HTMLInputElement>(null);
  useEffect(() => userField.current?.focus(), []);

  const waiting = status.kind === 'limited' && status.until !== null && status.until > now;
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [waiting]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (status.kind === 'busy' || waiting) return;
    if (!username || !password) {
      setStatus({ kind: 'error', message: 'Enter your user name and password.' });
      (username ? passwordField : userField).current?.focus();
      return;
    }
    setStatus({ kind: 'busy' });
    client.login(username, password).then(
      () => undefined, // the gate swaps this screen for the dashboard
      (error: unknown) => {
        setPassword('');
        passwordField.current?.focus();
        if (error instanceof LoginError && error.kind === 'rate_limited') {
          const until = error.retryAfterS !== null ? Date.now() + error.retryAfterS * 1000 : null;
          setNow(Date.now());
          setStatus({ kind: 'limited', message: error.message, until });
        } else if (error instanceof LoginError && error.kind === 'invalid') {
          setStatus({ kind: 'error', message: 'Wrong user name or password.' });
        } else {
          setStatus({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
        }
      },
    );
  };

  const busy = status.kind === 'busy';
  // An anonymous visitor who may read the dashboard can go back to it without signing in.
  const canSkip = !session && principal?.role != null;
  let problem: string | null = null;
  if (status.kind === 'error') problem = status.message;
  if (status.kind === 'limited') {
    problem = waiting
      ? `Too many sign-in attempts. Try again in ${formatWait(((status.until ?? now) - now) / 1000)}.`
      : status.until === null
        ? `Too many sign-in attempts: ${status.message}`
        : 'You can try again now.';
  }

  return (
    <div className="auth-screen">
      <form className="auth-card" onSubmit={submit} noValidate aria-labelledby="auth-title" data-testid="login-form">
        <p className="auth-brand">trafficcast</p>
        <h1 id="auth-title" className="auth-title">
          Sign in
        </h1>
        {notice && (
          <p className="auth-notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        <label className="auth-field">
          User name
          <input
            ref={userField}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            disabled={busy}
            data-testid="login-username"
          />
        </label>
        <label className="auth-field">
          Password
          <input
            ref={passwordField}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            disabled={busy}
            aria-invalid={status.kind === 'error' ? true : undefined}
            aria-describedby={problem ? 'auth-problem' : undefined}
            data-testid="login-password"
          />
        </label>
        {problem && (
          <p id="auth-problem" className="auth-error" role="alert" data-testid="login-error">
            {problem}
          </p>
        )}
        <button type="submit" className="button-primary auth-submit" disabled={busy || waiting} aria-busy={busy} data-testid="login-submit">
          {busy && <span className="auth-spinner" aria-hidden="true" />}
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {canSkip && (
          <button type="button" className="auth-skip" onClick={() => client.openLogin(false)} data-testid="login-skip">
            Continue without signing in ({principal?.role})
          </button>
        )}
      </form>
    </div>
  );
}
