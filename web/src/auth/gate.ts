// What the app shows for an auth state: a pure function, so the rules are testable.
import type { AuthState } from './session';

export type GateView = 'login' | 'error' | 'waiting' | 'app';

export function gateView(state: Pick<AuthState, 'phase' | 'principal' | 'loginOpen'>): GateView {
  // Asked for (header link, ended session), or the server lets anonymous visitors do nothing.
  if (state.loginOpen || (state.phase === 'ready' && state.principal?.role == null)) return 'login';
  if (state.phase === 'error' && !state.principal) return 'error';
  if (!state.principal) return 'waiting';
  return 'app';
}

/** Who the live data belongs to: a change (sign in, sign out, another user) starts it afresh. */
export function identityKey(state: Pick<AuthState, 'principal' | 'session'>): string {
  if (state.session) return `user:${state.session.user.username}`;
  return `anonymous:${state.principal?.role ?? ''}`;
}
