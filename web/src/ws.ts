// A WebSocket to /ws/traffic that subscribes on every (re)connect and reconnects
// with capped exponential backoff when the connection drops.
import { parseServerFrame } from './messages';
import type { ClientMessage, ServerMessage } from './types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

/** The part of the browser WebSocket we use; lets tests pass a fake. */
export interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(): void;
}

/**
 * The socket's URL, or a function giving it at each (re)connect, e.g. with a fresh access
 * token; `attempt` counts the tries since the server last talked (0 first, 1 first retry).
 */
export type SocketUrl = string | ((attempt: number) => string | Promise<string>);

export interface TrafficSocketOptions {
  url: SocketUrl;
  /** Segment ids to subscribe to; "*" means all. */
  segmentIds?: readonly string[];
  onMessage: (message: ServerMessage) => void;
  onStateChange: (state: ConnectionState) => void;
  /** Called on each successful open after the first, e.g. to refetch what was missed. */
  onReconnect?: () => void;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

/**
 * Delay before reconnect attempt `attempt` (0-based): 0.5 s, 1 s, 2 s, … capped at
 * 15 s, with ±25 % jitter so that many dashboards do not all hit a restarted
 * server in the same instant.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt));
  const jitter = 0.75 + random() * 0.5;
  return Math.round(exponential * jitter);
}

/**
 * The live socket's URL; with a token, as `?access_token=` (a browser cannot set
 * headers on a WebSocket).
 */
export function trafficSocketUrl(location: Pick<Location, 'protocol' | 'host'>, accessToken?: string | null): string {
  const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/traffic`;
  return accessToken ? `${base}?${new URLSearchParams({ access_token: accessToken })}` : base;
}

export class TrafficSocket {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private everOpened = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectSeq = 0;
  private readonly options: Required<Omit<TrafficSocketOptions, 'onReconnect'>> &
    Pick<TrafficSocketOptions, 'onReconnect'>;

  constructor(options: TrafficSocketOptions) {
    this.options = {
      segmentIds: ['*'],
      createSocket: (url) => new WebSocket(url),
      random: Math.random,
      ...options,
    };
  }

  start(): void {
    this.stopped = false;
    this.options.onStateChange('connecting');
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.connectSeq += 1;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onerror = null;
      socket.onmessage = null;
      socket.onopen = null;
      socket.close();
    }
  }

  send(message: ClientMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  private connect(): void {
    const { url } = this.options;
    if (typeof url === 'string') {
      this.open(url);
      return;
    }
    let next: string | Promise<string>;
    try {
      next = url(this.attempt);
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (typeof next === 'string') {
      this.open(next);
      return;
    }
    // Keeps its place while the URL is being made, so stop() in between is honoured.
    const pending = ++this.connectSeq;
    next.then(
      (resolved) => {
        if (!this.stopped && pending === this.connectSeq) this.open(resolved);
      },
      () => {
        if (!this.stopped && pending === this.connectSeq) this.scheduleReconnect();
      },
    );
  }

  private open(url: string): void {
    const socket = this.options.createSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.send({ action: 'subscribe', segment_ids: [...this.options.segmentIds], format: 'batch' });
      this.options.onStateChange('live');
      if (this.everOpened) this.options.onReconnect?.();
      this.everOpened = true;
    };
    socket.onmessage = (event) => {
      // Only a server that actually talks to us resets the backoff; one that accepts
      // and then drops every connection must not be hammered every 0.5 s.
      this.attempt = 0;
      if (typeof event.data !== 'string') return;
      for (const message of parseServerFrame(event.data)) this.options.onMessage(message);
    };
    // The browser always fires close after error, so reconnecting is handled there.
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      this.options.onStateChange(this.everOpened ? 'reconnecting' : 'connecting');
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
