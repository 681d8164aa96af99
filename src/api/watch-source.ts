/**
 * What the Watch RPC needs from the node: changes to keys as this node applies them, from a
 * revision on. src/node/watch-hub.ts implements it; the API never sees the state machine's
 * apply path.
 */

export interface KvChange {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  /** The new value for PUT; empty for DELETE. */
  readonly value: Uint8Array;
  /** The revision of the change. */
  readonly revision: number;
}

export interface WatchFilter {
  /** The key, or the prefix when `prefix`; '' with `prefix` matches every key. */
  readonly key: string;
  readonly prefix: boolean;
}

export interface WatchSubscriber {
  /** Called for each matching change, in revision order. */
  onChange(change: KvChange): void;
  /** The watch cannot continue (this node replaced its state with a snapshot); no more changes follow. */
  onLost(reason: string): void;
}

export type WatchStart =
  | { readonly ok: true; readonly cancel: () => void }
  /** Changes before `historyFrom` + 1 are no longer known here. */
  | { readonly ok: false; readonly historyFrom: number };

export interface WatchSource {
  /** startRevision 0: changes after the current revision; otherwise every change at or after it. */
  subscribe(filter: WatchFilter, startRevision: number, subscriber: WatchSubscriber): WatchStart;
}

export function matches(filter: WatchFilter, key: string): boolean {
  return filter.prefix ? key.startsWith(filter.key) : key === filter.key;
}
