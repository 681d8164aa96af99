/**
 * A member's peer certificate acts for the cluster beyond peer RPCs: a controller forwards its
 * clients' calls to the leader with it, and an operator on a member's host may use it with ctl.
 * That holds only while the member is one. A removed member's key (or one issued for an id that
 * was never added) is refused on every call but the peer RPCs, which judge it themselves
 * (REMOVED_MEMBER, UNKNOWN_MEMBER), so that removing a member revokes its key as
 * docs/security.md says. Before, such a key wrote keys, changed settings, removed members and
 * reported agents offline.
 *
 * With `tls.client_ca` set, the client API is the client CA's (security.md): a certificate
 * signed by `tls.ca` that is no member's peer certificate is refused it (NOT_A_CLIENT), so that
 * an operator moving to a client CA retires the old certificates (attack round 10: they kept
 * writing keys). Agent streams are not the client API: agents keep the certificates they have.
 *
 * One check at the server's door (door-gate.ts), as the agent CA gate does, so a service added
 * later is covered by default.
 */
import * as grpc from '@grpc/grpc-js';
import { AGENT_STREAM_METHOD } from './agent-ca-gate.js';
import { doorGate, OPEN_TO_ALL, type DoorRefusal } from './door-gate.js';
import type { AuthenticatedCall, PeerAuth } from './peer-auth.js';

/** Services a peer certificate is judged by elsewhere, and the health check, open to all. */
const NOT_GATED = ['/controller.peer.', OPEN_TO_ALL];

export const NOT_A_MEMBER = 'NOT_A_MEMBER';
export const NOT_A_CLIENT = 'NOT_A_CLIENT';

export type MemberKeyCode = typeof NOT_A_MEMBER | typeof NOT_A_CLIENT;

export interface MemberKeyOptions {
  /** `tls.client_ca` is set: the client API takes that CA's certificates (and members' peer ones). */
  readonly clientCa: boolean;
}

function refusal(auth: PeerAuth, isMember: (id: string) => boolean, method: string, call: AuthenticatedCall, opts: MemberKeyOptions): DoorRefusal<MemberKeyCode> | null {
  if (NOT_GATED.some((prefix) => method.startsWith(prefix))) return null;
  if (opts.clientCa && method !== AGENT_STREAM_METHOD && auth.peerCaNonPeer(call)) {
    return {
      code: NOT_A_CLIENT,
      reason:
        "with tls.client_ca set, the client API takes certificates of the client CA and members' peer certificates; " +
        "the caller's certificate is signed by the controllers' CA (tls.ca) and is no member's peer certificate: use one of the client CA",
    };
  }
  const named = auth.peerNamed(call);
  if (named === null || isMember(named)) return null;
  return {
    code: NOT_A_MEMBER,
    reason:
      `the caller's certificate is the peer certificate of ${JSON.stringify(named)}, which is not a member of this cluster ` +
      "(removed, or never added): a member's key acts for the cluster only while it is a member",
  };
}

/** Null when the caller may call `method`; else why not (`NOT_A_MEMBER: ...`). */
export function memberKeyRefusal(auth: PeerAuth, isMember: (id: string) => boolean, method: string, call: AuthenticatedCall, opts: MemberKeyOptions = { clientCa: false }): string | null {
  const r = refusal(auth, isMember, method, call, opts);
  return r === null ? null : `${r.code}: ${r.reason}`;
}

/**
 * The check again, on a call already let in: a stream lasts while its caller's standing may
 * change (a member removed), and the door judged it only at its start. Counts as the door does.
 */
export function memberKeyRecheck(
  auth: PeerAuth,
  isMember: (id: string) => boolean,
  onRefused: (code: MemberKeyCode) => void,
  opts: MemberKeyOptions = { clientCa: false },
): (method: string, call: AuthenticatedCall) => string | null {
  return (method, call) => {
    const r = refusal(auth, isMember, method, call, opts);
    if (r === null) return null;
    onRefused(r.code);
    return `${r.code}: ${r.reason}`;
  };
}

/** The check as a server interceptor: a refused call ends PERMISSION_DENIED before any handler runs. */
export function memberKeyGate(
  auth: PeerAuth,
  isMember: (id: string) => boolean,
  onRefused: (code: MemberKeyCode) => void,
  onFailed?: () => void,
  opts: MemberKeyOptions = { clientCa: false },
): grpc.ServerInterceptor {
  return doorGate((method, call) => refusal(auth, isMember, method, call, opts), onRefused, onFailed);
}
