/**
 * Exactly-once application of retried client requests (Raft thesis §6.3). Per client id the
 * table keeps the highest seq applied and its result; a retry of that seq gets the cached
 * result, an older seq is refused. The table is replicated state: it is in the snapshot, and
 * eviction depends only on the log (least recently applied first), never on time.
 *
 * Beside the result it keeps what the request was (request-print.ts), so that the same seq
 * sent with another request is refused, not answered with the first one's result. Records from
 * before (older snapshots, or written while the cluster version was below
 * REQUEST_PRINT_VERSION) have none and are answered as before.
 *
 * A client's record must not silently vanish (thesis §6.3, session expiry): once the table is
 * full it drops the least recently applied id for each new one, and a retry of a request whose
 * record was dropped would be applied a second time (attack 37 A2: 10,001 puts under fresh ids
 * took 5-8 s, then an acknowledged put was re-applied over a later write of another client).
 * So a request marked as a retry (`retry`: an earlier attempt's answer never came) whose id the
 * table does not know is refused as SESSION_EXPIRED, nothing applied, when the table is full:
 * the only state in which it can have dropped records, since it never shrinks otherwise. A
 * table not yet full has dropped nothing, so there an unknown id's earlier attempts were never
 * applied and the retry is applied as a first attempt. An honest new client is never refused:
 * its first attempt carries no mark. A retry of an id the table knows is judged by seq as before
 * (a recorded seq below the retry's means the retry's earlier attempts were not applied).
 * Every replica decides alike: the mark is in the entry, the table's size is replicated state.
 *
 * From cluster version CLIENT_SHARE_VERSION the table is shared out by owner (owner-shares.ts,
 * record-owner.ts): each record carries whose it is (a client certificate's identity, as the
 * controller that took the request saw it and wrote into the entry; one owner for every
 * plaintext client; one for the controllers' own report ids), a full table evicts from the owner
 * holding the most records, and "may have dropped" is per owner: an unknown-id retry is refused
 * only when the table evicted records of its owner, or an entry naming no owner took one of its
 * records (or, while records from before owners remain, evicted one of those:
 * whose it was is unknown). So a flood under one certificate evicts its own
 * records once it holds the most, and other callers' records and retries are untouched. An entry
 * without an owner (proposed below the level) is judged as before: refused when the table is full.
 * At the level a client id is also its owner's: another owner's request under it is refused
 * (heldByAnother), so no caller can make another's writes stale or read its cached answers.
 */
import { CONTROLLER_CLIENT_ID_PREFIX, type ClientTag } from './command.js';
import { ownedForm, readTable, recordLength, sharedForm, tableOverhead, type ClientEntry } from './dedup-snapshot.js';
import { OwnerShares, type OwnerKey } from './owner-shares.js';
import { INTERNAL_OWNER } from './record-owner.js';
import { reuseProblem, type RequestPrint } from './request-print.js';
import { failure, type ApplyResult } from './result.js';

export const DEFAULT_MAX_CLIENTS = 10_000;

/**
 * The owner a record of `client` gets once the table is shared out: the internal owner for the
 * controllers' own ids (no entry can name it), else the entry's owner; null for an entry that
 * names none (proposed below CLIENT_SHARE_VERSION).
 */
export function recordOwnerOf(client: ClientTag): OwnerKey {
  if (client.id.startsWith(CONTROLLER_CLIENT_ID_PREFIX)) return INTERNAL_OWNER;
  return client.owner ?? null;
}

export class ClientTable {
  /**
   * Insertion order is last-applied order: `record` re-inserts a client, and applies come in
   * increasing index order, so the first entry is the least recently applied, in O(1).
   */
  private readonly entries = new Map<string, ClientEntry>();
  /** Null until the table is shared out by owner (CLIENT_SHARE_VERSION); never null again after. */
  private shares: OwnerShares | null = null;
  /**
   * Each record's length in the snapshot (recordLength), and their sum: the table's size without
   * serializing it. Serialized for controller.quota_bytes every 5 s, a table holding large cached
   * results (4 MB after 15 applies of 5,000 resources) held a loaded leader's loop 60-340 ms.
   */
  private readonly lengths = new Map<string, number>();
  private recordsLength = 0;

  constructor(readonly maxClients: number = DEFAULT_MAX_CLIENTS) {}

  get size(): number {
    return this.entries.size;
  }

  /** An upper bound of the table's snapshot JSON, in UTF-16 units, kept as records change. */
  snapshotLength(): number {
    return this.recordsLength + tableOverhead(this.shares?.lostJsonLength ?? 2);
  }

  private put(id: string, entry: ClientEntry): void {
    this.entries.set(id, entry);
    const length = recordLength(id, entry);
    this.recordsLength += length - (this.lengths.get(id) ?? 0);
    this.lengths.set(id, length);
  }

  private drop(id: string): void {
    this.entries.delete(id);
    this.recordsLength -= this.lengths.get(id) ?? 0;
    this.lengths.delete(id);
  }

  /**
   * The answer for a request already seen, or null when it must be applied. `printOf` gives
   * the incoming request's print, asked only when its seq is the recorded one: a different
   * request under that seq is refused (INVALID, not recorded: the first answer still stands
   * for the first request's retries). `share`: the cluster is at CLIENT_SHARE_VERSION; `owned`:
   * at OWNED_CLIENT_ID_VERSION (a client id is its owner's, and the owners named as having lost
   * records are bounded). A replica below a level decides as the members that lack it.
   */
  check(client: ClientTag, printOf: () => RequestPrint | null, share = false, owned = false): ApplyResult | null {
    this.raise(share, owned);
    const entry = this.entries.get(client.id);
    if (entry === undefined) return client.retry === true && this.mayHaveDropped(client) ? this.expired(client) : null;
    const taken = owned ? this.heldByAnother(client, entry) : null;
    if (taken !== null) return taken;
    if (client.seq > entry.seq) return null;
    if (client.seq === entry.seq) {
      const clash = entry.print === null ? null : reuseProblem(client, entry.print, printOf());
      return clash === null ? entry.result : failure('INVALID', clash);
    }
    return failure('STALE_REQUEST', `client "${client.id}" request ${client.seq} is older than its latest, ${entry.seq}`);
  }

  record(client: ClientTag, result: ApplyResult, index: number, print: RequestPrint | null, share = false, owned = false): void {
    this.raise(share, owned);
    const previous = this.entries.get(client.id);
    const owner = this.shares === null ? null : recordOwnerOf(client);
    if (previous !== undefined) {
      this.drop(client.id);
      this.shares?.remove(previous.owner, client.id);
      // Another owner's request is refused (heldByAnother), but an entry naming no owner (proposed
      // below the level) still takes the record, and evicting it later (as ownerless) must not
      // leave its owner's in-flight retry unknown-id and applied again: it counts as lost.
      // (From the legacy group it is, most often, the same client's first write at the level.)
      if (previous.owner !== null && previous.owner !== owner) this.shares?.markLost(previous.owner);
    }
    this.put(client.id, { seq: client.seq, result, index, print, owner });
    this.shares?.add(owner, client.id, index);
    this.evict();
  }

  /** What the cluster's level asks of the table, taken on at the first request at it (never undone). */
  private raise(share: boolean, owned: boolean): void {
    if (share) this.shareOut();
    if (owned) this.shares?.bound();
  }

  /**
   * A client id belongs to the owner of its record: another owner's request under it is refused
   * (INVALID, nothing applied, not recorded), whatever its seq. Before (attack round 13), a caller
   * that read another's id (a saved snapshot lists them) could write under it with a seq far ahead,
   * so that client's every later write was refused STALE_REQUEST, or send that client's request
   * again and be answered with its cached result. A record from before owners, or an entry that
   * names none (proposed below the level), is judged as before: whose it is, is unknown.
   */
  private heldByAnother(client: ClientTag, entry: ClientEntry): ApplyResult | null {
    if (this.shares === null || entry.owner === null) return null;
    const owner = recordOwnerOf(client);
    if (owner === null || owner === entry.owner) return null;
    const id = JSON.stringify(client.id.length > 64 ? `${client.id.slice(0, 64)}...` : client.id);
    return failure(
      'INVALID',
      `client id ${id} belongs to another caller (its exactly-once record was written under another certificate identity); nothing applied: ` +
        'a client id is its caller\'s alone, use one of your own (the client library draws a fresh one per client)',
    );
  }

  /**
   * Whether the table may have dropped the record of this retry's earlier attempt. Shared: full,
   * the only state in which it has dropped any (it never shrinks otherwise). By owner: the table
   * evicted a record of this owner (or another owner took one, record()), or one from before
   * owners while such records remain.
   */
  private mayHaveDropped(client: ClientTag): boolean {
    const full = this.entries.size >= this.maxClients;
    const owner = this.shares === null ? null : recordOwnerOf(client);
    if (this.shares === null || owner === null) return full;
    // Owners past the bound of those named were forgotten: an owner not named is judged as before owners.
    return this.shares.hasLost(owner) || (this.shares.hasLost(null) && this.shares.count(null) > 0) || (this.shares.forgotten && full);
  }

  private expired(client: ClientTag): ApplyResult {
    const id = JSON.stringify(client.id.length > 64 ? `${client.id.slice(0, 64)}...` : client.id);
    const owner = this.shares === null ? null : recordOwnerOf(client);
    const why =
      owner === null || this.shares === null || !this.shares.hasLost(owner)
        ? `the cluster's table of the latest request of ${this.maxClients} client ids is full and no longer holds this id, so an earlier attempt may have been applied ` +
          'and its record evicted by newer clients'
        : `the cluster's table of the latest request of ${this.maxClients} client ids no longer holds this id and has evicted records of its caller ${JSON.stringify(owner.slice(0, 64))} ` +
          '(a full table evicts from the caller holding the most records), so an earlier attempt may have been applied and its record evicted';
    return failure(
      'SESSION_EXPIRED',
      `the outcome of this write is unknown: its exactly-once record was dropped, or it was never applied (client ${id} request ${client.seq} is a retry, ` +
        `and ${why}); nothing applied: read the state to see whether the write took effect before writing again`,
    );
  }

  /**
   * The shared form while the table is not shared out, so a snapshot taken below
   * CLIENT_SHARE_VERSION loads on older members; the owned form after (dedup-snapshot.ts).
   */
  snapshot(): unknown {
    return this.shares === null ? sharedForm(this.entries) : ownedForm(this.entries, this.shares.lost(), this.shares.forgotten);
  }

  restore(data: unknown): void {
    const image = readTable(data);
    for (const [id, entry] of image.entries) this.put(id, entry);
    if (image.lost !== null) {
      const shares = new OwnerShares(this.maxClients);
      for (const [id, entry] of image.entries) shares.add(entry.owner, id, entry.index);
      for (const owner of image.lost.dropped) shares.markLost(owner);
      if (image.lost.legacyDropped) shares.markLost(null);
      if (image.lost.forgotten) shares.markForgotten();
      this.shares = shares;
    }
    this.evict();
  }

  /**
   * From the first request at CLIENT_SHARE_VERSION on: the records kept so far have no owner
   * (the legacy group), and if the table is full it may have dropped some of them already.
   */
  private shareOut(): void {
    if (this.shares !== null) return;
    const shares = new OwnerShares(this.maxClients);
    for (const [id, entry] of this.entries) shares.add(null, id, entry.index);
    if (this.entries.size >= this.maxClients) shares.markLost(null);
    this.shares = shares;
  }

  private evict(): void {
    while (this.entries.size > this.maxClients) {
      const victim = this.shares === null ? this.oldest() : this.shares.victim();
      if (victim === null) return;
      this.drop(victim.id);
      this.shares?.remove(victim.owner, victim.id);
      this.shares?.markLost(victim.owner);
    }
  }

  private oldest(): { readonly owner: OwnerKey; readonly id: string } | null {
    const first = this.entries.keys().next();
    return first.done === true ? null : { owner: null, id: first.value };
  }
}
