import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from './types';
import { backoffDelay, TrafficSocket, trafficSocketUrl, type ConnectionState, type SocketLike } from './ws';

class FakeSocket implements SocketLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.(new Event('open'));
  }
  receive(data: string) {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop() {
    this.onclose?.({} as CloseEvent);
  }
}

describe('backoffDelay', () => {
  it('doubles from 0.5 s up to 15 s', () => {
    const noJitter = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, noJitter))).toEqual([
      500, 1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ]);
  });

  it('jitters by ±25 %', () => {
    expect(backoffDelay(1, () => 0)).toBe(750);
    expect(backoffDelay(1, () => 1)).toBe(1250);
  });
});

describe('trafficSocketUrl', () => {
  it('follows the page protocol', () => {
    expect(trafficSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000' })).toBe('ws://127.0.0.1:8000/ws/traffic');
    expect(trafficSocketUrl({ protocol: 'https:', host: 'example.org' })).toBe('wss://example.org/ws/traffic');
  });
});

describe('TrafficSocket', () => {
  let sockets: FakeSocket[];
  let states: ConnectionState[];
  let messages: ServerMessage[];
  let reconnects: number;
  let socket: TrafficSocket;

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    states = [];
    messages = [];
    reconnects = 0;
    socket = new TrafficSocket({
      url: 'ws://host/ws/traffic',
      onMessage: (m) => messages.push(m),
      onStateChange: (s) => states.push(s),
      onReconnect: () => (reconnects += 1),
      createSocket: (url) => {
        const fake = new FakeSocket(url);
        sockets.push(fake);
        return fake;
      },
      random: () => 0.5,
    });
  });

  afterEach(() => {
    socket.stop();
    vi.useRealTimers();
  });

  it('subscribes to everything on open and forwards parsed messages', () => {
    socket.start();
    sockets[0]?.open();
    expect(states).toEqual(['connecting', 'live']);
    expect(sockets[0]?.sent).toEqual(['{"action":"subscribe","segment_ids":["*"],"format":"batch"}']);
    sockets[0]?.receive('{"type":"subscribed","segment_ids":["*"]}');
    sockets[0]?.receive('garbage');
    expect(messages).toEqual([{ type: 'subscribed', segment_ids: ['*'] }]);
  });

  it('reconnects with growing delays and resubscribes', () => {
    socket.start();
    sockets[0]?.open();
    sockets[0]?.drop();
    expect(states.at(-1)).toBe('reconnecting');
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]?.drop(); // failed attempt: next wait is longer
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    sockets[2]?.open();
    expect(states.at(-1)).toBe('live');
    expect(sockets[2]?.sent).toHaveLength(1);
    expect(reconnects).toBe(1);
  });

  it('resets the backoff once the server talks again', () => {
    socket.start();
    sockets[0]?.open();
    sockets[0]?.drop();
    vi.advanceTimersByTime(500);
    sockets[1]?.open();
    sockets[1]?.receive('{"type":"subscribed","segment_ids":["*"]}');
    sockets[1]?.drop();
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(3);
  });

  it('stays connecting while the first connection fails', () => {
    socket.start();
    sockets[0]?.drop();
    expect(states).toEqual(['connecting', 'connecting']);
  });

  it('stops for good', () => {
    socket.start();
    sockets[0]?.open();
    socket.stop();
    expect(sockets[0]?.closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });
});

describe('TrafficSocket with a URL made at each connect', () => {
  afterEach(() => vi.useRealTimers());

  it('carries the access token as a query parameter', () => {
    expect(trafficSocketUrl({ protocol: 'http:', host: 'h' }, 'a.b/c+d')).toBe('ws://h/ws/traffic?access_token=a.b%2Fc%2Bd');
    expect(trafficSocketUrl({ protocol: 'http:', host: 'h' }, null)).toBe('ws://h/ws/traffic');
  });

  it('asks for the URL again on every reconnect (a renewed token is used)', async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    const attempts: number[] = [];
    let token = 't1';
    const socket = new TrafficSocket({
      url: async (attempt) => {
        attempts.push(attempt);
        return trafficSocketUrl({ protocol: 'http:', host: 'h' }, token);
      },
      onMessage: () => undefined,
      onStateChange: () => undefined,
      createSocket: (url) => {
        const fake = new FakeSocket(url);
        sockets.push(fake);
        return fake;
      },
      random: () => 0.5,
    });
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]?.open();
    sockets[0]?.receive('{"type":"subscribed","segment_ids":["*"]}');
    token = 't2';
    sockets[0]?.drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(sockets.map((s) => s.url)).toEqual(['ws://h/ws/traffic?access_token=t1', 'ws://h/ws/traffic?access_token=t2']);
    sockets[1]?.drop(); // refused: the provider hears it is the second try in a row
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts).toEqual([0, 1, 2]);
    socket.stop();
  });

  it('opens nothing when stopped while the URL was being made', async () => {
    let release!: (url: string) => void;
    const created: string[] = [];
    const socket = new TrafficSocket({
      url: () => new Promise<string>((resolve) => (release = resolve)),
      onMessage: () => undefined,
      onStateChange: () => undefined,
      createSocket: (url) => {
        created.push(url);
        return new FakeSocket(url);
      },
    });
    socket.start();
    socket.stop();
    release('ws://h/ws/traffic');
    await Promise.resolve();
    expect(created).toEqual([]);
  });
});
