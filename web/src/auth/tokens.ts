// The session kept in the browser: tokens, when they expire, when to refresh.
// Pure functions of the session and the clock, so the timing is testable.
import type { SessionResponse, UserRecord } from './types';

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms the access token was received (its lifetime starts about then). */
  issuedAt: number;
  /** Epoch ms the access token expires. */
  expiresAt: number;
  /** Epoch ms the refresh token expires: after it only a new sign-in helps. */
  refreshExpiresAt: number;
  user: UserRecord;
}

export const STORAGE_KEY = 'trafficcast.session';

/** Refresh at most this long before expiry … */
const MAX_MARGIN_MS = 60_000;
/** … and at least this long, so a request never leaves with a token about to lapse. */
const MIN_MARGIN_MS = 1_000;
/** setTimeout's delay is a signed 32-bit number of ms; longer waits fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The session a login/refresh answer starts, measured from `now`. */
export function sessionFromResponse(response: SessionResponse, now: number): StoredSession {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    issuedAt: now,
    expiresAt: now + response.expires_in * 1000,
    refreshExpiresAt: now + response.refresh_expires_in * 1000,
    user: response.user,
  };
}

/**
 * How long before expiry to refresh: a fifth of the token's lifetime, between
 * 1 s and 60 s (a 15-minute token is refreshed a minute early; a 10-second
 * test token 2 s early), leaving room for a slow network and clock drift.
 */
export function refreshMarginMs(session: Pick<StoredSession, 'issuedAt' | 'expiresAt'>): number {
  const lifetime = Math.max(0, session.expiresAt - session.issuedAt);
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, lifetime / 5));
}

/** Ms from `now` until the refresh is due (0 = now), capped to what setTimeout can wait. */
export function refreshDelayMs(session: Pick<StoredSession, 'issuedAt' | 'expiresAt'>, now: number): number {
  const due = session.expiresAt - refreshMarginMs(session);
  return Math.min(MAX_TIMER_MS, Math.max(0, due - now));
}

/** True when the access token should be renewed before it is sent. */
export function needsRefresh(session: Pick<StoredSession, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  return refreshDelayMs(session, now) === 0;
}

/** True while the refresh token may still buy a new access token. */
export function canRefresh(session: Pick<StoredSession, 'refreshExpiresAt'>, now: number): boolean {
  return now < session.refreshExpiresAt;
}

/** The session stored in localStorage, or null for anything missing, damaged or of another shape. */
export function parseStoredSession(text: string | null): StoredSession | null {
  if (!text) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const strings = ['accessToken', 'refreshToken'] as const;
  const numbers = ['issuedAt', 'expiresAt', 'refreshExpiresAt'] as const;
  if (strings.some((k) => typeof v[k] !== 'string' || v[k] === '')) return null;
  if (numbers.some((k) => typeof v[k] !== 'number' || !Number.isFinite(v[k]))) return null;
  const user = v.user as Record<string, unknown> | null | undefined;
  if (typeof user !== 'object' || user === null || typeof user.username !== 'string' || typeof user.role !== 'string') {
    return null;
  }
  return value as StoredSession;
}
