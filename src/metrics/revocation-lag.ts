// Revocation lag: how long after a revocation was logged (its row's `at`) this process applied it to its token
// cache. The token resolver calls `revocationApplied` where it applies an entry of the shared log; the metrics of the
// app that owns that resolver observe it. Keyed by resolver, not global: tests run several apps in one process.

type LagObserver = (lagMs: number) => void;

const observers = new WeakMap<object, LagObserver>();

/** Observe the lag of the revocations `resolver` applies (one observer per resolver). */
export function observeRevocationLag(resolver: object, observe: LagObserver): void {
  observers.set(resolver, observe);
}

/** Called by the resolver as it applies a logged revocation; `at` in ms since the epoch, as written to the log. */
export function revocationApplied(resolver: object, at: number | undefined): void {
  if (at === undefined) return;
  observers.get(resolver)?.(Math.max(0, Date.now() - at));
}
