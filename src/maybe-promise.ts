// A value that is there now, or will be. SQLite answers synchronously and PostgreSQL does not; the FHIR read path
// keeps SQLite's answer synchronous end to end, because every promise on it cost CPU on every request (an async
// function per layer was several µs of a read). Callers that do not care simply `await` either form.
export type MaybePromise<T> = T | Promise<T>;

/** Applies `f` now when `value` is already there, else when it arrives. */
export function then<T, U>(value: MaybePromise<T>, f: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}
