/**
 * The part of a Promise the drivers use to continue after I/O: a real Promise in production,
 * and in the simulations a completion that an event of the seeded schedule fires (test/sim).
 *
 * The drivers call `then` directly and never `await` a Completion: an `await` would resume in
 * a microtask, outside the event that completed the I/O, and the simulation would no longer
 * decide what happens between the two.
 */
export interface Completion<T> {
  then(onDone: (value: T) => void, onFailed: (err: unknown) => void): void;
}
