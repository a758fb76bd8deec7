// Between the app and the server's answer to "who am I": a short wait, the login
// screen when the visitor may not read without signing in, or the dashboard.
import type { ReactNode } from 'react';
import { useAuth } from './AuthProvider';
import { gateView, identityKey } from './gate';
import { LoginScreen } from './LoginScreen';
import './auth.css';

export function AuthGate({ children }: { children: (identity: string) => ReactNode }) {
  const state = useAuth();
  const view = gateView(state);
  if (view === 'login') return <LoginScreen />;
  if (view === 'error') {
    return (
      <div className="auth-screen">
        <div className="auth-card" role="alert">
          <p className="auth-brand">trafficcast</p>
          <p>Could not reach the server: {state.error}</p>
          <button type="button" onClick={() => void state.client.start()}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (view === 'waiting') {
    return (
      <div className="auth-screen" aria-busy="true">
        <p className="auth-waiting">Checking sign-in…</p>
      </div>
    );
  }
  // Keyed by who we are, so signing in as someone else starts the live data afresh.
  return <>{children(identityKey(state))}</>;
}
