/**
 * How long this leader has itself seen each voter's committed record offline, by its monotonic
 * clock. Dead-member cleanup (cleanup.ts) counts the shorter of this and the wall-clock time
 * since the record's offline-since, so a step of the leader's wall clock (a `date -s` typo
 * ahead, or NTP correcting a clock that was behind when the record was stamped) cannot shorten
 * the wait: a member offline for seconds is never taken as offline for hours.
 *
 * The price: a leader that did not see the record go offline counts from when it first saw it,
 * so a leader change restarts the wait (removal is only delayed, never hastened). A sighting is
 * kept while the record keeps the same offline-since, also across a lost and regained
 * leadership: the record was offline the whole time, whoever watched.
 *
 * Deterministic: the records and the monotonic time come in, the sightings go out.
 */

export interface OfflineSighting {
  /** The record's offline-since (ms since the epoch) when it was first seen. */
  readonly offlineSince: number;
  /** This node's monotonic clock when it first saw the record offline. */
  readonly seenAtMono: number;
}

export type OfflineSightings = ReadonlyMap<string, OfflineSighting>;

export const NO_SIGHTINGS: OfflineSightings = new Map();

/**
 * The sightings after one look at the committed records (`offlineSince` null: not offline):
 * a record seen offline for the first time, or offline again since a newer time, starts at
 * `nowMono`; one no longer offline (or gone) is forgotten.
 */
export function noteOfflineSightings(
  prev: OfflineSightings,
  records: readonly { readonly id: string; readonly offlineSince: number | null }[],
  nowMono: number,
): OfflineSightings {
  const next = new Map<string, OfflineSighting>();
  for (const { id, offlineSince } of records) {
    if (offlineSince === null) continue;
    const seen = prev.get(id);
    next.set(id, seen !== undefined && seen.offlineSince === offlineSince ? seen : { offlineSince, seenAtMono: nowMono });
  }
  return next;
}

/** How long `id`'s record has been seen offline by the monotonic clock; null: not seen offline. */
export function seenOfflineForMs(sightings: OfflineSightings, id: string, nowMono: number): number | null {
  const seen = sightings.get(id);
  return seen === undefined ? null : Math.max(0, nowMono - seen.seenAtMono);
}
