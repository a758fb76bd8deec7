import { describe, expect, it } from 'vitest';
import { gateView, identityKey } from './gate';
import type { Principal } from './types';

const anonymous = (role: string | null): Principal => ({ kind: 'anonymous', username: null, role, tier: 'standard' });
const ada: Principal = { kind: 'user', username: 'ada', role: 'analyst', tier: 'standard' };

describe('gateView', () => {
  it('waits for the first answer of /auth/me', () => {
    expect(gateView({ phase: 'checking', principal: null, loginOpen: false })).toBe('waiting');
  });

  it('shows the login screen when anonymous may do nothing', () => {
    expect(gateView({ phase: 'ready', principal: anonymous(null), loginOpen: false })).toBe('login');
  });

  it('shows the dashboard to an anonymous viewer (or admin), and the login screen when asked', () => {
    expect(gateView({ phase: 'ready', principal: anonymous('viewer'), loginOpen: false })).toBe('app');
    expect(gateView({ phase: 'ready', principal: anonymous('admin'), loginOpen: true })).toBe('login');
  });

  it('shows the login screen after a session ended, whatever the phase', () => {
    expect(gateView({ phase: 'checking', principal: null, loginOpen: true })).toBe('login');
  });

  it('keeps the dashboard through a failed re-check once someone is known', () => {
    expect(gateView({ phase: 'error', principal: null, loginOpen: false })).toBe('error');
    expect(gateView({ phase: 'error', principal: ada, loginOpen: false })).toBe('app');
  });
});

describe('identityKey', () => {
  it('changes with the signed-in user and with the anonymous role', () => {
    const session = { user: { username: 'ada' } } as Parameters<typeof identityKey>[0]['session'];
    expect(identityKey({ principal: ada, session })).toBe('user:ada');
    expect(identityKey({ principal: anonymous('viewer'), session: null })).toBe('anonymous:viewer');
    expect(identityKey({ principal: null, session: null })).toBe('anonymous:');
  });
});
