// Coalesces bursts of triggers into one call: a forecast issue arrives as one
// `prediction` message per segment (thousands within a second), and the map
// should refetch its layer once for the lot, not once per message.

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

const browserTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export class Debouncer {
  private handle: unknown = null;
  private firstAt: number | null = null;

  /**
   * `run` is called `waitMs` after the last trigger, but no later than
   * `maxWaitMs` after the first one of a burst (a steady stream still refreshes).
   */
  constructor(
    private readonly run: () => void,
    private readonly waitMs: number,
    private readonly maxWaitMs: number,
    private readonly timers: Timers = browserTimers,
  ) {}

  trigger(): void {
    const now = this.timers.now();
    this.firstAt ??= now;
    if (this.handle !== null) this.timers.clear(this.handle);
    const delay = Math.max(0, Math.min(this.waitMs, this.firstAt + this.maxWaitMs - now));
    this.handle = this.timers.set(() => this.fire(), delay);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
    this.firstAt = null;
  }

  get pending(): boolean {
    return this.handle !== null;
  }

  private fire(): void {
    this.handle = null;
    this.firstAt = null;
    this.run();
  }
}
