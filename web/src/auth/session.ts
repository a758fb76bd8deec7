// The dashboard's sign-in: who we are (GET /auth/me), the tokens of a signed-in
// session (kept in localStorage so a reload stays signed in), the bearer header on
// every API request, a refresh shortly before expiry and once on a 401 (one at a
// time), and the way back to the login screen when the session cannot be renewed.
import { errorFromResponse } from '../api';
import { singleFlight } from './singleFlight';
import {
  canRefresh,
  needsRefresh,
  parseStoredSession,
  refreshDelayMs,
  sessionFromResponse,
  STORAGE_KEY,
  type StoredSession,
} from './tokens';
import type { Principal, SessionResponse } from './types';

export interface AuthState {
  /** checking = asking /auth/me; error = the server could not be asked. */
  phase: 'checking' | 'ready' | 'error';
  /** Who the server takes us for (null until it has said). */
  principal: Principal | null;
  session: StoredSession | null;
  /** The login screen was asked for (the header's "Sign in", or a session that ended). */
  loginOpen: boolean;
  /** Why the login screen is shown, e.g. the session ended. */
  notice: string | null;
  /** The /auth/me failure (phase error). */
  error: string | null;
}

/** A refused sign-in: wrong credentials, too many attempts (with the wait), or anything else. */
export class LoginError extends Error {
  constructor(
    readonly kind: 'invalid' | 'rate_limited' | 'other',
    message: string,
    /** Seconds to wait before trying again (rate_limited). */
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

type Fetch = (path: string, init: RequestInit) => Promise<Response>;
type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface AuthClientOptions {
  fetch?: Fetch;
  storage?: StorageLike | null;
  now?: () => number;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export const SESSION_ENDED = 'Your session has ended. Sign in again.';
/** After a refresh that failed for a reason other than a refusal (network, 5xx), try again this soon. */
const RETRY_MS = 10_000;
/** Paths a bearer token must not be retried on: they answer 401 for their own reasons. */
const AUTH_PATHS = ['/auth/login', '/auth/refresh', '/auth/logout'];

/** Seconds from a Retry-After header (delta-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** `init` with `Authorization: Bearer <token>` added (headers of any form kept). */
export function withBearer(init: RequestInit, token: string | null): RequestInit {
  if (!token) return init;
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return { ...init, headers };
}

function userPrincipal(session: StoredSession): Principal {
  return { kind: 'user', username: session.user.username, role: session.user.role, tier: session.user.tier };
}

export class AuthClient {
  private state: AuthState;
  private readonly listeners = new Set<() => void>();
  private readonly rawFetch: Fetch;
  private readonly storage: StorageLike | null;
  private readonly now: () => number;
  private readonly setTimer: (run: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private timer: unknown = null;

  constructor(options: AuthClientOptions = {}) {
    this.rawFetch = options.fetch ?? ((path, init) => fetch(path, init));
    this.storage = options.storage === undefined ? safeLocalStorage() : options.storage;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
    const stored = this.readStored();
    this.state = { phase: 'checking', principal: null, session: stored, loginOpen: false, notice: null, error: null };
    if (stored) this.schedule(stored);
  }

  // --- the store React subscribes to ---------------------------------------------------------

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): AuthState => this.state;

  private update(patch: Partial<AuthState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  // --- who we are ----------------------------------------------------------------------------

  /** Asks the server who we are (with the stored session, if any). */
  async start(): Promise<void> {
    this.update({ phase: 'checking', error: null });
    try {
      let response = await this.fetch('/auth/me', { headers: { Accept: 'application/json' } });
      // A stored session the server no longer honours has been dropped: ask again as nobody.
      if (response.status === 401 && !this.state.session) {
        response = await this.rawFetch('/auth/me', { headers: { Accept: 'application/json' } });
      }
      if (!response.ok) throw await errorFromResponse(response);
      const principal = (await response.json()) as Principal;
      this.update({ phase: 'ready', principal, error: null });
    } catch (error) {
      this.update({ phase: 'error', error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Opens the login screen (the header's "Sign in"), or closes it when allowed to go on without. */
  openLogin(open = true): void {
    this.update({ loginOpen: open, notice: open ? this.state.notice : null });
  }

  async login(username: string, password: string): Promise<void> {
    let response: Response;
    try {
      response = await this.rawFetch('/auth/login', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    } catch {
      throw new LoginError('other', 'Could not reach the server. Check the connection and try again.');
    }
    if (response.ok) {
      const session = sessionFromResponse((await response.json()) as SessionResponse, this.now());
      this.setSession(session);
      this.update({ phase: 'ready', principal: userPrincipal(session), loginOpen: false, notice: null, error: null });
      return;
    }
    const error = await errorFromResponse(response);
    if (response.status === 429) {
      const wait = retryAfterSeconds(response.headers.get('Retry-After'), this.now());
      throw new LoginError('rate_limited', error.message, wait);
    }
    if (response.status === 401) throw new LoginError('invalid', error.message);
    throw new LoginError('other', error.message);
  }

  /** Ends the session on the server (every device's) and here, then asks who we are now. */
  async logout(): Promise<void> {
    if (this.state.session) {
      try {
        await this.fetch('/auth/logout', { method: 'POST' });
      } catch {
        // Signed out here regardless; the server's session expires on its own.
      }
    }
    this.clearSession();
    this.update({ principal: null, loginOpen: false, notice: null });
    await this.start();
  }

  // --- requests ------------------------------------------------------------------------------

  /**
   * A request with the bearer token: renewed first when it is about to expire, and
   * once more after a 401 (another tab or the server may have ended it meanwhile).
   */
  readonly fetch = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const before = this.state.session;
    if (before && needsRefresh(before, this.now())) await this.refresh();
    const sent = this.state.session;
    const response = await this.rawFetch(path, withBearer(init, sent?.accessToken ?? null));
    if (response.status !== 401 || !sent || AUTH_PATHS.some((p) => path.startsWith(p))) return response;
    // Someone else may have renewed it while this request was out: use theirs.
    const renewed = this.state.session !== sent ? this.state.session !== null : await this.refresh();
    const now = this.state.session;
    if (!renewed || !now) return response;
    return this.rawFetch(path, withBearer(init, now.accessToken));
  };

  /** A valid access token for the WebSocket (renewed first if due); null when not signed in. */
  async accessToken(): Promise<string | null> {
    const session = this.state.session;
    if (session && needsRefresh(session, this.now())) await this.refresh();
    return this.state.session?.accessToken ?? null;
  }

  /** Renews the access token; one renewal at a time, shared by every caller. True when renewed. */
  readonly refresh: () => Promise<boolean> = singleFlight(() => this.runRefresh());

  private async runRefresh(): Promise<boolean> {
    const session = this.state.session;
    if (!session) return false;
    if (!canRefresh(session, this.now())) {
      this.endSession();
      return false;
    }
    let response: Response;
    try {
      response = await this.rawFetch('/auth/refresh', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      });
    } catch {
      this.retrySoon(RETRY_MS);
      return false;
    }
    if (this.state.session !== session) return this.state.session !== null; // replaced meanwhile
    if (response.ok) {
      const next = sessionFromResponse((await response.json()) as SessionResponse, this.now());
      this.setSession(next);
      this.update({ principal: userPrincipal(next) });
      return true;
    }
    if (response.status === 429 || response.status >= 500) {
      // Not a refusal: keep the session and try again (the token may still have a minute).
      const wait = retryAfterSeconds(response.headers.get('Retry-After'), this.now());
      this.retrySoon(wait !== null ? wait * 1000 : RETRY_MS);
      return false;
    }
    // Another tab may have renewed with this refresh token already (it is then spent): adopt its session.
    const stored = this.readStored();
    if (stored && stored.refreshToken !== session.refreshToken && canRefresh(stored, this.now())) {
      this.setSession(stored, false);
      this.update({ principal: userPrincipal(stored) });
      return true;
    }
    this.endSession();
    return false;
  }

  // --- keeping the session -------------------------------------------------------------------

  /** The tab became visible again: timers may have slept, so renew now if due. */
  wake(): void {
    const session = this.state.session;
    if (session && needsRefresh(session, this.now())) void this.refresh();
  }

  /** Another tab changed the stored session (the `storage` event). */
  adoptStored(): void {
    const stored = this.readStored();
    const current = this.state.session;
    if (stored && current && stored.accessToken === current.accessToken) return;
    if (stored) {
      this.setSession(stored, false);
      this.update({ phase: 'ready', principal: userPrincipal(stored), loginOpen: false, notice: null });
    } else if (current) {
      this.clearSession(false);
      this.update({ principal: null, notice: null });
      void this.start();
    }
  }

  /** The session is over (refused refresh): forget it and show the login screen. */
  private endSession(): void {
    this.clearSession();
    this.update({ loginOpen: true, notice: SESSION_ENDED, principal: null });
    // Learn what an anonymous visitor may do (the login screen offers to go on without).
    void this.start();
  }

  private setSession(session: StoredSession, persist = true): void {
    if (persist) {
      try {
        this.storage?.setItem(STORAGE_KEY, JSON.stringify(session));
      } catch {
        // Private mode or a full quota: the session lasts as long as the tab.
      }
    }
    this.schedule(session);
    this.update({ session });
  }

  private clearSession(persist = true): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    if (persist) {
      try {
        this.storage?.removeItem(STORAGE_KEY);
      } catch {
        // nothing stored, then
      }
    }
    this.update({ session: null });
  }

  private schedule(session: StoredSession): void {
    this.retrySoon(refreshDelayMs(session, this.now()));
  }

  private retrySoon(ms: number): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.refresh();
    }, ms);
  }

  private readStored(): StoredSession | null {
    try {
      return parseStoredSession(this.storage?.getItem(STORAGE_KEY) ?? null);
    } catch {
      return null;
    }
  }
}

function safeLocalStorage(): StorageLike | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // some privacy settings make touching localStorage throw
  }
}
