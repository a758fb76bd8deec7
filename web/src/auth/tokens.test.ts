import { describe, expect, it } from 'vitest';
import {
  canRefresh,
  MAX_TIMER_MS,
  needsRefresh,
  parseStoredSession,
  refreshDelayMs,
  refreshMarginMs,
  sessionFromResponse,
} from './tokens';
import type { SessionResponse } from './types';

const user = {
  username: 'ada',
  role: 'admin',
  tier: 'standard',
  disabled: false,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
  last_login_at: null,
};

function response(expiresIn: number, refreshIn = 43_200): SessionResponse {
  return { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: expiresIn, refresh_expires_in: refreshIn, user };
}

describe('sessionFromResponse', () => {
  it('turns lifetimes in seconds into epoch-ms deadlines from now', () => {
    const s = sessionFromResponse(response(900, 3600), 1_000_000);
    expect([s.issuedAt, s.expiresAt, s.refreshExpiresAt]).toEqual([1_000_000, 1_900_000, 4_600_000]);
    expect([s.accessToken, s.refreshToken, s.user.username]).toEqual(['a', 'r', 'ada']);
  });
});

describe('refresh timing', () => {
  it('refreshes a 15-minute token one minute before it expires', () => {
    const s = sessionFromResponse(response(900), 0);
    expect(refreshMarginMs(s)).toBe(60_000);
    expect(refreshDelayMs(s, 0)).toBe(840_000);
    expect(refreshDelayMs(s, 800_000)).toBe(40_000);
  });

  it('refreshes a short-lived token a fifth of its life early, at least a second', () => {
    expect(refreshDelayMs(sessionFromResponse(response(10), 0), 0)).toBe(8_000);
    expect(refreshMarginMs(sessionFromResponse(response(2), 0))).toBe(1_000);
  });

  it('is due at once when the token expired or is about to', () => {
    const s = sessionFromResponse(response(900), 0);
    expect(needsRefresh(s, 839_999)).toBe(false);
    expect(needsRefresh(s, 840_000)).toBe(true);
    expect(refreshDelayMs(s, 5_000_000)).toBe(0);
    expect(needsRefresh(s, 5_000_000)).toBe(true);
  });

  it('never asks setTimeout for more than it can wait', () => {
    const s = sessionFromResponse(response(90 * 24 * 3600), 0);
    expect(refreshDelayMs(s, 0)).toBe(MAX_TIMER_MS);
  });

  it('knows when only a new sign-in helps', () => {
    const s = sessionFromResponse(response(900, 3600), 0);
    expect(canRefresh(s, 3_599_999)).toBe(true);
    expect(canRefresh(s, 3_600_000)).toBe(false);
  });
});

describe('parseStoredSession', () => {
  it('reads back what was stored', () => {
    const s = sessionFromResponse(response(900), 5);
    expect(parseStoredSession(JSON.stringify(s))).toEqual(s);
  });

  it('ignores anything damaged or of another shape', () => {
    const good = sessionFromResponse(response(900), 5);
    for (const text of [
      null,
      '',
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...good, accessToken: '' }),
      JSON.stringify({ ...good, expiresAt: 'soon' }),
      JSON.stringify({ ...good, user: null }),
      JSON.stringify({ ...good, user: { username: 'ada' } }),
    ]) {
      expect(parseStoredSession(text)).toBeNull();
    }
  });
});
