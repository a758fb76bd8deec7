// One refresh at a time: every caller that asks while one is running gets the
// same promise (a refresh token may be single-use on the server, so two parallel
// refreshes would end the session).

export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    if (inFlight) return inFlight;
    const started = run();
    inFlight = started;
    // Cleared however it ends, so the next call after it starts a new one.
    const clear = () => {
      if (inFlight === started) inFlight = null;
    };
    started.then(clear, clear);
    return started;
  };
}
