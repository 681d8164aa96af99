/**
 * A member's peer certificate acts for the cluster beyond peer RPCs: a controller forwards its
 * clients' calls to the leader with it, and an operator on a member's host may use it with ctl.
 * That holds only while the member is one. A removed member's key (or one issued for an id that
 * was never added) is refused on every call but the peer RPCs, which judge it themselves
 * (REMOVED_MEMBER, UNKNOWN_MEMBER), so that removing a member revokes its key as
 * docs/security.md says. Before, such a key wrote keys, changed settings, removed members and
 * reported agents offline.
 *
 * One check at the server's door (door-gate.ts), as the agent CA gate does, so a service added
 * later is covered by default.
 */
import * as grpc from '@grpc/grpc-js';
import { doorGate, OPEN_TO_ALL, type DoorRefusal } from './door-gate.js';
import type { AuthenticatedCall, PeerAuth } from './peer-auth.js';

/** Services a peer certificate is judged by elsewhere, and the health check, open to all. */
const NOT_GATED = ['/controller.peer.', OPEN_TO_ALL];

export const NOT_A_MEMBER = 'NOT_A_MEMBER';

function refusal(auth: PeerAuth, isMember: (id: string) => boolean, method: string, call: AuthenticatedCall): DoorRefusal<typeof NOT_A_MEMBER> | null {
  if (NOT_GATED.some((prefix) => method.startsWith(prefix))) return null;
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
export function memberKeyRefusal(auth: PeerAuth, isMember: (id: string) => boolean, method: string, call: AuthenticatedCall): string | null {
  const r = refusal(auth, isMember, method, call);
  return r === null ? null : `${r.code}: ${r.reason}`;
}

/** The check as a server interceptor: a refused call ends PERMISSION_DENIED before any handler runs. */
export function memberKeyGate(auth: PeerAuth, isMember: (id: string) => boolean, onRefused: () => void, onFailed?: () => void): grpc.ServerInterceptor {
  return doorGate((method, call) => refusal(auth, isMember, method, call), onRefused, onFailed);
}
