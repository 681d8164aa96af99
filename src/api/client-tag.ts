/**
 * The exactly-once tag (client id and seq) of a client's request, as the client API takes it:
 * none for an empty id, and never one of the controllers' own report ids, which a client could
 * otherwise move past the controller's seq so that every later report of its agents is refused.
 * With it, from cluster version CLIENT_SHARE_VERSION, the record's owner (caller-owner.ts).
 */
import { CLIENT_SHARE_VERSION, CONTROLLER_CLIENT_ID_PREFIX, SESSION_EXPIRY_VERSION, type ClientTag, type StateMachine } from '../statemachine/index.js';
import { ServiceFailure } from './service-error.js';
import type { ClientRefMsg } from './wire-types.js';

function clientTagOf(id: string, seq: number, retry = false, owner?: string): ClientTag | null {
  if (id === '') return null;
  if (id.startsWith(CONTROLLER_CLIENT_ID_PREFIX)) {
    throw new ServiceFailure('INVALID_ARGUMENT', `client id ${JSON.stringify(id.slice(0, 64))}: ids starting with "${CONTROLLER_CLIENT_ID_PREFIX}" are the controllers' own`);
  }
  const tag = retry ? { id, seq, retry } : { id, seq };
  return owner === undefined || owner === '' ? tag : { ...tag, owner };
}

/**
 * The tag a client's request goes into the log with: its retry mark and its owner each only once
 * every member reads them (marksRetry, ownerInEntry); below, the entry older members apply.
 */
export function entryTagOf(sm: StateMachine, id: string, seq: number, retry: boolean | undefined, owner: string | undefined): ClientTag | null {
  return clientTagOf(id, seq, marksRetry(retry, sm), ownerInEntry(owner, sm));
}

/**
 * The owner that goes into the entry (and into a forward to the leader): only once every member
 * reads it (CLIENT_SHARE_VERSION), since an older member refuses the field and would apply the
 * entry as an error while the others apply it. Below that level the entry names no owner.
 */
function ownerInEntry(owner: string | undefined, sm: StateMachine): string | undefined {
  return owner !== undefined && owner !== '' && sm.supports(CLIENT_SHARE_VERSION) ? owner : undefined;
}

/**
 * Whether a client's retry mark goes into the entry: only once every member reads it
 * (SESSION_EXPIRY_VERSION), since an older member refuses the field and would apply the entry as
 * an error while the others apply it. Below that level the retry is proposed as before.
 */
function marksRetry(requested: boolean | undefined, sm: StateMachine): boolean {
  return requested === true && sm.supports(SESSION_EXPIRY_VERSION);
}

/** A kv request marked as a retry, for on-leader's `asRetry`; undefined without a client ref. */
export function kvRetryOf<R extends { readonly client: ClientRefMsg | null }>(req: R): R | undefined {
  return req.client === null ? undefined : { ...req, client: { ...req.client, retry: true } };
}

/** A mesh request (flat client fields) marked as a retry, for on-leader's `asRetry`; undefined without a client id. */
export function meshRetryOf<R extends { readonly clientId: string; readonly clientRetry?: boolean }>(req: R): R | undefined {
  return req.clientId === '' ? undefined : { ...req, clientRetry: true };
}
