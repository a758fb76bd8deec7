import { describe, expect, it } from 'vitest';
import { singleFlight } from './singleFlight';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('singleFlight', () => {
  it('shares one run among every caller while it is in flight', async () => {
    let runs = 0;
    const gate = deferred<number>();
    const refresh = singleFlight(() => {
      runs += 1;
      return gate.promise;
    });
    const calls = [refresh(), refresh(), refresh()];
    expect(runs).toBe(1);
    gate.resolve(7);
    expect(await Promise.all(calls)).toEqual([7, 7, 7]);
  });

  it('starts a new run after the last one ended, also after a failure', async () => {
    const gates = [deferred<string>(), deferred<string>()] as const;
    let runs = 0;
    const refresh = singleFlight(() => (runs++ === 0 ? gates[0] : gates[1]).promise);
    const first = refresh();
    gates[0].reject(new Error('down'));
    await expect(first).rejects.toThrow('down');
    const second = refresh();
    expect(runs).toBe(2);
    gates[1].resolve('ok');
    expect(await second).toBe('ok');
  });
});
