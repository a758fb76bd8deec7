import { describe, expect, it } from 'vitest';
import { Debouncer, type Timers } from './debounce';

/** A manual clock: advance(ms) fires due timers in order. */
function manualTimers() {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    set: (callback, ms) => {
      const id = next++;
      due.set(id, { at: now + ms, callback });
      return id;
    },
    clear: (handle) => due.delete(handle as number),
    now: () => now,
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const [id, timer] = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || !timer || timer.at > end) break;
      due.delete(id);
      now = timer.at;
      timer.callback();
    }
    now = end;
  };
  return { timers, advance };
}

describe('Debouncer', () => {
  it('runs once after a burst goes quiet', () => {
    const { timers, advance } = manualTimers();
    let runs = 0;
    const d = new Debouncer(() => runs++, 1000, 5000, timers);
    for (let i = 0; i < 1000; i++) d.trigger();
    advance(999);
    expect(runs).toBe(0);
    expect(d.pending).toBe(true);
    advance(1);
    expect(runs).toBe(1);
    expect(d.pending).toBe(false);
  });

  it('still runs during a steady stream, at most maxWait after its start', () => {
    const { timers, advance } = manualTimers();
    let runs = 0;
    const d = new Debouncer(() => runs++, 1000, 3000, timers);
    for (let t = 0; t < 6000; t += 500) {
      d.trigger();
      advance(500);
    }
    expect(runs).toBe(2);
  });

  it('does nothing once cancelled', () => {
    const { timers, advance } = manualTimers();
    let runs = 0;
    const d = new Debouncer(() => runs++, 100, 1000, timers);
    d.trigger();
    d.cancel();
    advance(5000);
    expect(runs).toBe(0);
  });
});
