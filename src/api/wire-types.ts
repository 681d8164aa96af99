/**
 * The client API's messages as proto-loader hands them to us (camelCase, defaults filled).
 * ListControllers answers with ControllersView (controller-rows.ts), shared with the client.
 */
export interface ClientRefMsg {
  readonly id: string;
  readonly seq: number;
  /** A re-send whose earlier attempt may have been applied (command.ts ClientTag.retry). */
  readonly retry?: boolean;
  /**
   * Whose exactly-once record the write makes (command.ts ClientTag.owner): set by the controller
   * that took the request when it forwards it, trusted only from a member (caller-owner.ts).
   */
  readonly owner?: string;
}
export interface PutRequestMsg {
  readonly key: string;
  readonly value: Uint8Array;
  readonly hasIfRevision: boolean;
  readonly ifRevision: number;
  readonly client: ClientRefMsg | null;
  readonly forwarded: boolean;
}
export interface DeleteRequestMsg {
  readonly key: string;
  readonly client: ClientRefMsg | null;
  readonly forwarded: boolean;
  readonly hasIfRevision: boolean;
  readonly ifRevision: number;
}
export interface GetRequestMsg {
  readonly key: string;
  readonly serializable: boolean;
}
export interface MemberAddRequestMsg {
  readonly id: string;
  readonly address: string;
  readonly learner: boolean;
  readonly forwarded: boolean;
}
export interface MemberIdRequestMsg {
  readonly id: string;
  readonly forwarded: boolean;
}
export interface LeaderTransferRequestMsg {
  readonly target: string;
  readonly forwarded: boolean;
}
export interface AuditRequestMsg {
  readonly sinceMs: number;
  readonly follow: boolean;
  /** The client understands notes (AuditEventMsg.dropped); false from older clients. */
  readonly notes: boolean;
  /** Events from the last this many ms by the server's audit clock; 0 (older clients): sinceMs decides. */
  readonly sinceAgoMs?: number;
}
/** Events the answering controller could not write to its audit store (a note, not an event). */
export interface AuditDroppedMsg {
  readonly node: string;
  readonly count: number;
  /** ISO times of the first and the latest. */
  readonly first: string;
  readonly last: string;
  readonly cause: string;
}
export interface AuditEventMsg {
  readonly time: string;
  readonly node: string;
  readonly type: string;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** Set on a note only (then every other field is ''). */
  readonly dropped?: AuditDroppedMsg | null;
}
export interface StatusReportMsg {
  readonly member: string;
  readonly status: string;
  readonly reason: string;
  readonly reporter: string;
  readonly forwarded: boolean;
}
export type KvOpMsg = 'KV_OP_UNSPECIFIED' | 'KV_OP_PUT' | 'KV_OP_GET' | 'KV_OP_DELETE';
/** Flat: the framing check of strict-decode.ts covers every field. */
export interface KvSessionRequestMsg {
  readonly id: number;
  /** An enum value this version does not know arrives as its number. */
  readonly op: KvOpMsg | number;
  readonly timeoutMs: number;
  readonly key: string;
  readonly value: Uint8Array;
  readonly hasIfRevision: boolean;
  readonly ifRevision: number;
  readonly serializable: boolean;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly forwarded: boolean;
  /** ClientRefMsg.retry; absent from senders that predate it. */
  readonly clientRetry?: boolean;
  /** ClientRefMsg.owner; absent from senders that predate it. */
  readonly clientOwner?: string;
}
export interface KvSessionResponseMsg {
  readonly id: number;
  /** '' on success, else an ApiErrorCode. */
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly revision: number;
  readonly key: string;
  readonly value: Uint8Array;
  /** With errorCode: refused before anything was proposed (NOT_PROPOSED_METADATA_KEY); absent from older servers. */
  readonly notProposed?: boolean;
}
