/**
 * Whose exactly-once record a client's write makes (src/statemachine/record-owner.ts): the caller
 * as the controller that took the request saw it. With TLS, its client certificate's identity,
 * named as the watch caps name it (watch-client.ts: `cn:<CN>`, or `cert:<fingerprint>` without a
 * CN); without TLS nothing tells clients apart, so all of them share one owner. The dedup table
 * gives each owner its share (dedup.ts), so one certificate's flood evicts only its own records.
 *
 * A follower forwards a write to the leader under its own peer certificate, so the leader would
 * see every client of that follower as one caller: the forward carries the owner its receiver
 * saw (ClientRef.owner), and the leader takes it only from a member's peer certificate; from any
 * other caller, whatever it claims, the owner is that caller's own identity.
 *
 * Attached only from cluster version CLIENT_SHARE_VERSION, when every member reads the field
 * (client-tag.ts ownerInEntry); below, a request carries none, whatever the client sent.
 */
import { createHash } from 'node:crypto';
import { CLIENT_SHARE_VERSION, MAX_OWNER_BYTES, ownerProblem, type StateMachine } from '../statemachine/index.js';
import type { AuthenticatedCall } from '../transport/peer-auth.js';
import { watchClientOf, type CallPeer } from './watch-client.js';
import type { ClientRefMsg } from './wire-types.js';

/** A server call, as watch-client.ts and peer-auth.ts read who is on it. */
export type OwnerCall = CallPeer & AuthenticatedCall;

/** The owner every plaintext client shares. */
export const PLAINTEXT_OWNER = 'plaintext';

/** The owner of a write taken on `call`; `claimed`: the owner a request carries ('' for none). Undefined: the request names none. */
export type OwnerOf = (call: OwnerCall, claimed: string, forwarded: boolean) => string | undefined;

/** The caller's identity as this controller sees it: a certificate's, or the plaintext owner. */
export function ownerSeen(call: OwnerCall): string {
  const key = watchClientOf(call).key;
  // `peer:<address>`: no certificate (plaintext), one connection of many of the same caller.
  if (key.startsWith('peer:')) return PLAINTEXT_OWNER;
  // A CN longer than an owner may be is named by its digest: still one owner per CN.
  return Buffer.byteLength(key, 'utf8') <= MAX_OWNER_BYTES ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The owners of `sm`'s cluster: a forward's claimed owner when `isPeer` says the caller is a
 * member (its peer certificate), else the caller's own; none below CLIENT_SHARE_VERSION.
 */
export function callerOwners(sm: Pick<StateMachine, 'supports'>, isPeer: (call: OwnerCall) => boolean): OwnerOf {
  // One reading per call: a KvSession stream (how the client library and a follower's forwards
  // write) asks for every request, and grpc-js parses the peer certificate into a new object on
  // each getAuthContext (about 15 us). A call is one connection, whose certificate never changes.
  const seenOn = new WeakMap<OwnerCall, string>();
  return (call, claimed, forwarded) => {
    if (!sm.supports(CLIENT_SHARE_VERSION)) return undefined;
    let seen = seenOn.get(call);
    if (seen === undefined) {
      seen = ownerSeen(call);
      seenOn.set(call, seen);
    }
    if (seen === PLAINTEXT_OWNER) return seen;
    if (forwarded && claimed !== '' && ownerProblem(claimed) === null && isPeer(call)) return claimed;
    return seen;
  };
}

/** `req` with its client ref's owner replaced by `owner` (dropped when undefined): never what a client claimed. */
export function kvOwned<R extends { readonly client: ClientRefMsg | null }>(req: R, owner: string | undefined): R {
  if (req.client === null) return req;
  const { owner: _claimed, ...ref } = req.client;
  return { ...req, client: owner === undefined ? ref : { ...ref, owner } };
}

/** A mesh request (flat client fields) with its owner replaced by `owner`, as kvOwned. */
export function meshOwned<R extends { readonly clientId: string; readonly clientOwner?: string }>(req: R, owner: string | undefined): R {
  const { clientOwner: _claimed, ...rest } = req;
  return (owner === undefined || req.clientId === '' ? rest : { ...rest, clientOwner: owner }) as R;
}
