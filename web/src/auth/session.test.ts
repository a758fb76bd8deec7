import { describe, expect, it } from 'vitest';
import { AuthClient, LoginError, retryAfterSeconds, SESSION_ENDED, withBearer } from './session';
import { sessionFromResponse, STORAGE_KEY } from './tokens';
import type { SessionResponse } from './types';

const ADA = {
  username: 'ada',
  role: 'admin',
  tier: 'standard',
  disabled: false,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
  last_login_at: null,
};

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function envelope(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message, details: null }, request_id: 'r' }, status, headers);
}

/** A small stand-in for the auth API: rotating refresh tokens, one valid access token at a time. */
class FakeServer {
  access = new Set<string>();
  refreshTokens = new Set<string>();
  anonymousRole: string | null = null;
  refreshCalls = 0;
  refreshGate: Promise<void> | null = null;
  refreshAnswer: (() => Response) | null = null;
  loginAnswer: (() => Response) | null = null;
  requests: { path: string; auth: string | null }[] = [];
  private n = 0;

  private issue(): SessionResponse {
    this.n += 1;
    const session = { access_token: `a${this.n}`, refresh_token: `r${this.n}`, token_type: 'bearer', expires_in: 900, refresh_expires_in: 43_200, user: ADA };
    this.access.add(session.access_token);
    this.refreshTokens.add(session.refresh_token);
    return session;
  }

  readonly fetch = async (path: string, init: RequestInit): Promise<Response> => {
    const auth = new Headers(init.headers).get('Authorization');
    this.requests.push({ path, auth });
    const token = auth?.replace(/^Bearer /, '') ?? null;
    if (path === '/auth/login') {
      if (this.loginAnswer) return this.loginAnswer();
      const body = JSON.parse(String(init.body)) as { username: string; password: string };
      return body.password === 'correct horse battery'
        ? json(this.issue())
        : envelope(401, 'invalid_credentials', 'invalid user name or password');
    }
    if (path === '/auth/refresh') {
      this.refreshCalls += 1;
      if (this.refreshGate) await this.refreshGate;
      if (this.refreshAnswer) return this.refreshAnswer();
      const { refresh_token } = JSON.parse(String(init.body)) as { refresh_token: string };
      if (!this.refreshTokens.delete(refresh_token)) return envelope(401, 'invalid_credentials', 'invalid refresh token');
      return json(this.issue());
    }
    if (token !== null && !this.access.has(token)) return envelope(401, 'unauthorized', 'invalid token');
    if (path === '/auth/logout') {
      this.access.clear();
      this.refreshTokens.clear();
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/me') {
      return json(token ? { kind: 'user', username: 'ada', role: 'admin', tier: 'standard' } : { kind: 'anonymous', username: null, role: this.anonymousRole, tier: 'standard' });
    }
    return json({ ok: true, token });
  };

  /** Ends every access token (as if they expired on the server's clock). */
  expireAccess(): void {
    this.access.clear();
  }
}

class MemoryStorage {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

function setup(now = { t: 1_000_000 }) {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const timers: { run: () => void; at: number }[] = [];
  const client = new AuthClient({
    fetch: server.fetch,
    storage,
    now: () => now.t,
    setTimer: (run, ms) => {
      const timer = { run, at: now.t + ms };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      const i = timers.indexOf(timer as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  return { server, storage, timers, client, now };
}

describe('sign-in', () => {
  it('shows the login screen when anonymous may do nothing', async () => {
    const { client } = setup();
    await client.start();
    expect(client.getState()).toMatchObject({ phase: 'ready', principal: { kind: 'anonymous', role: null }, session: null });
  });

  it('keeps the session, stores it and signs every request with it', async () => {
    const { client, server, storage } = setup();
    await client.start();
    await client.login('ada', 'correct horse battery');
    const state = client.getState();
    expect(state.principal).toEqual({ kind: 'user', username: 'ada', role: 'admin', tier: 'standard' });
    expect(JSON.parse(storage.getItem(STORAGE_KEY) ?? '{}').accessToken).toBe('a1');
    const answer = (await (await client.fetch('/api/segments')).json()) as { token: string };
    expect(answer.token).toBe('a1');
    expect(server.requests.at(-1)).toEqual({ path: '/api/segments', auth: 'Bearer a1' });
  });

  it('says which kind of refusal a failed sign-in was, with the wait of a 429', async () => {
    const { client, server } = setup();
    const wrong = await client.login('ada', 'nope').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(LoginError);
    expect((wrong as LoginError).kind).toBe('invalid');
    server.loginAnswer = () => envelope(429, 'rate_limited', 'too many requests', { 'Retry-After': '42' });
    const limited = (await client.login('ada', 'x').catch((e: unknown) => e)) as LoginError;
    expect([limited.kind, limited.retryAfterS]).toEqual(['rate_limited', 42]);
    expect(client.getState().session).toBeNull();
  });

  it('resumes a stored session after a reload', async () => {
    const first = setup();
    await first.client.login('ada', 'correct horse battery');
    const reloaded = new AuthClient({ fetch: first.server.fetch, storage: first.storage, now: () => first.now.t, setTimer: () => 0, clearTimer: () => undefined });
    await reloaded.start();
    expect(reloaded.getState().principal?.username).toBe('ada');
    expect(first.server.requests.at(-1)).toEqual({ path: '/auth/me', auth: 'Bearer a1' });
  });

  it('signs out on the server and here, and forgets the stored session', async () => {
    const { client, server, storage } = setup();
    await client.login('ada', 'correct horse battery');
    await client.logout();
    expect(server.requests.some((r) => r.path === '/auth/logout' && r.auth === 'Bearer a1')).toBe(true);
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(client.getState()).toMatchObject({ session: null, principal: { kind: 'anonymous' }, loginOpen: false });
  });
});

describe('refresh', () => {
  it('is scheduled a minute before a 15-minute token expires and renews it', async () => {
    const { client, timers, now } = setup();
    await client.login('ada', 'correct horse battery');
    expect(timers.map((t) => t.at - now.t)).toEqual([840_000]);
    now.t += 840_000;
    timers.splice(0, 1)[0]?.run(); // a timer that fired is gone
    await client.refresh();
    expect(client.getState().session?.accessToken).toBe('a2');
    expect(timers.map((t) => t.at - now.t)).toEqual([840_000]);
  });

  it('renews a token about to expire before sending the request', async () => {
    const { client, server, now } = setup();
    await client.login('ada', 'correct horse battery');
    now.t += 850_000;
    await client.fetch('/api/segments');
    expect(server.requests.slice(-2)).toEqual([
      { path: '/auth/refresh', auth: null },
      { path: '/api/segments', auth: 'Bearer a2' },
    ]);
  });

  it('runs once for many requests refused at the same time, then retries each once', async () => {
    const { client, server } = setup();
    await client.login('ada', 'correct horse battery');
    server.expireAccess();
    let open!: () => void;
    server.refreshGate = new Promise((resolve) => (open = resolve));
    const answers = Promise.all([1, 2, 3, 4, 5].map((i) => client.fetch(`/api/x${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 0));
    open();
    const bodies = await Promise.all((await answers).map((r) => r.json() as Promise<{ token: string }>));
    expect(server.refreshCalls).toBe(1);
    expect(bodies.map((b) => b.token)).toEqual(['a2', 'a2', 'a2', 'a2', 'a2']);
  });

  it('returns to the login screen when the refresh is refused', async () => {
    const { client, server, storage } = setup();
    await client.login('ada', 'correct horse battery');
    server.expireAccess();
    server.refreshTokens.clear(); // signed out elsewhere
    const answer = await client.fetch('/api/segments');
    expect(answer.status).toBe(401);
    const state = client.getState();
    expect([state.session, state.loginOpen, state.notice]).toEqual([null, true, SESSION_ENDED]);
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
  });

  it('keeps the session through a server hiccup and tries again', async () => {
    const { client, server, timers, now } = setup();
    await client.login('ada', 'correct horse battery');
    server.refreshAnswer = () => envelope(503, 'unavailable', 'restarting', { 'Retry-After': '3' });
    expect(await client.refresh()).toBe(false);
    expect(client.getState().session?.accessToken).toBe('a1');
    expect(timers.map((t) => t.at - now.t)).toEqual([3_000]);
  });

  it('adopts the session another tab renewed with the same (now spent) refresh token', async () => {
    const { client, server, storage, now } = setup();
    await client.login('ada', 'correct horse battery');
    // The other tab: refreshes with r1 and stores the result.
    const other = await (await server.fetch('/auth/refresh', { method: 'POST', body: JSON.stringify({ refresh_token: 'r1' }) })).json();
    storage.setItem(STORAGE_KEY, JSON.stringify(sessionFromResponse(other as SessionResponse, now.t)));
    expect(await client.refresh()).toBe(true);
    expect(client.getState().session?.accessToken).toBe('a2');
  });

  it('gives a fresh token to the WebSocket', async () => {
    const { client, now } = setup();
    expect(await client.accessToken()).toBeNull();
    await client.login('ada', 'correct horse battery');
    expect(await client.accessToken()).toBe('a1');
    now.t += 899_000;
    expect(await client.accessToken()).toBe('a2');
  });
});

describe('helpers', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterSeconds('30', 0)).toBe(30);
    expect(retryAfterSeconds(new Date(90_500).toUTCString(), 0)).toBe(90);
    expect(retryAfterSeconds(null, 0)).toBeNull();
    expect(retryAfterSeconds('soon', 0)).toBeNull();
  });

  it('adds the bearer header and keeps the others', () => {
    const init = withBearer({ method: 'POST', headers: { Accept: 'application/json' } }, 't');
    const headers = new Headers(init.headers);
    expect([init.method, headers.get('Accept'), headers.get('Authorization')]).toEqual(['POST', 'application/json', 'Bearer t']);
    const plain = { headers: { Accept: 'x' } };
    expect(withBearer(plain, null)).toBe(plain);
  });
});
