import { describe, expect, it, vi } from 'vitest';
import { LiveStore } from './liveStore';
import type { Reading } from './types';

const reading: Reading = { timestamp: '2012-03-01T08:05:00Z', speed: 55, volume: 1, occupancy: 2, level_of_service: 'C' };

function manualStore() {
  const pending: (() => void)[] = [];
  const store = new LiveStore((flush) => pending.push(flush));
  const runFrame = () => pending.splice(0).forEach((flush) => flush());
  return { store, pending, runFrame };
}

describe('LiveStore', () => {
  it('batches many events into one notification per frame', () => {
    const { store, pending, runFrame } = manualStore();
    const listener = vi.fn();
    store.subscribe(listener);
    store.applyEvent('S1', reading);
    store.applyEvent('S2', reading);
    store.applyEvent('S1', { ...reading, speed: 20 });
    expect(pending).toHaveLength(1);
    expect(listener).not.toHaveBeenCalled();
    runFrame();
    expect(listener).toHaveBeenCalledTimes(1);
    expect([...(listener.mock.calls[0]?.[0] as Set<string>)]).toEqual(['S1', 'S2']);
    expect(store.reading('S1')?.speed).toBe(20);
    expect(store.getVersion()).toBe(1);
  });

  it('does not schedule a frame for a snapshot that changes nothing', () => {
    const { store, pending } = manualStore();
    store.applySnapshot([]);
    expect(pending).toHaveLength(0);
  });

  it('stops notifying after unsubscribe', () => {
    const { store, runFrame } = manualStore();
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    unsubscribe();
    store.applyEvent('S1', reading);
    runFrame();
    expect(listener).not.toHaveBeenCalled();
  });

  it('delivers segment messages right away', () => {
    const { store } = manualStore();
    const listener = vi.fn();
    store.subscribeSegmentMessages(listener);
    const batch = { issued_at: '2012-03-01T08:05:00Z', model_version: 'm', forecasts: [] };
    store.publishSegmentMessage({ type: 'prediction', segmentId: 'S1', batch });
    expect(listener).toHaveBeenCalledWith({ type: 'prediction', segmentId: 'S1', batch });
  });
});
