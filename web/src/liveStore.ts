// Holds the live readings and fans changes out to the map, header and panel.
// Messages can arrive hundreds per second; listeners are told once per animation
// frame with the set of segments that changed, so the map and React do bounded work.
import { applySnapshot, applyTrafficEvent, type Readings } from './liveState';
import type { CurrentTrafficRow, PredictionBatch, Reading, ServerMessage, TrafficWindow } from './types';

export type ChangeListener = (changed: ReadonlySet<string>) => void;

/** Per-segment messages the detail panel cares about; delivered immediately (they are rare). */
export type SegmentMessage =
  | { type: 'window'; segmentId: string; window: TrafficWindow }
  | { type: 'prediction'; segmentId: string; batch: PredictionBatch };
export type SegmentMessageListener = (message: SegmentMessage) => void;

export type FrameScheduler = (flush: () => void) => void;

const animationFrame: FrameScheduler = (flush) => {
  requestAnimationFrame(flush);
};

export class LiveStore {
  private readonly readingsById: Readings = new Map();
  private readonly dirty = new Set<string>();
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly segmentListeners = new Set<SegmentMessageListener>();
  private readonly messageListeners = new Set<(message: ServerMessage) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private flushScheduled = false;
  private version = 0;

  constructor(private readonly schedule: FrameScheduler = animationFrame) {}

  get readings(): ReadonlyMap<string, Reading> {
    return this.readingsById;
  }

  reading(segmentId: string): Reading | undefined {
    return this.readingsById.get(segmentId);
  }

  /** Bumped on every flush; a cheap snapshot for useSyncExternalStore. */
  getVersion = (): number => this.version;

  applyEvent(segmentId: string, reading: Reading): void {
    applyTrafficEvent(this.readingsById, segmentId, reading);
    this.markDirty([segmentId]);
  }

  applySnapshot(rows: readonly CurrentTrafficRow[]): void {
    this.markDirty(applySnapshot(this.readingsById, rows));
  }

  publishSegmentMessage(message: SegmentMessage): void {
    for (const listener of this.segmentListeners) listener(message);
  }

  /** Every server message, as it arrives (pages filter the kinds they show). */
  publishMessage(message: ServerMessage): void {
    for (const listener of this.messageListeners) listener(message);
  }

  subscribeMessages(listener: (message: ServerMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  publishReconnect(): void {
    for (const listener of this.reconnectListeners) listener();
  }

  subscribeReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  subscribe = (listener: ChangeListener): (() => void) => {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  };

  subscribeSegmentMessages(listener: SegmentMessageListener): () => void {
    this.segmentListeners.add(listener);
    return () => this.segmentListeners.delete(listener);
  }

  private markDirty(ids: Iterable<string>): void {
    for (const id of ids) this.dirty.add(id);
    if (this.dirty.size === 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.dirty.size === 0) return;
    const changed: ReadonlySet<string> = new Set(this.dirty);
    this.dirty.clear();
    this.version += 1;
    for (const listener of this.changeListeners) listener(changed);
  }
}
