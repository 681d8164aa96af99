/**
 * Asks the other members, over the client API, whether they have applied this node's removal
 * (removal-watch.ts calls it when this node has lost its leader for a while). A peer answers
 * from its own records (a serializable member list); "removed" there means a committed
 * removal with no re-add applied after it.
 */
import type * as grpc from '@grpc/grpc-js';
import { ControllerClient } from '../api/client.js';
import { decodeMemberList } from '../api/operator-answers.js';
import { operatorMethod } from '../api/operator-proto.js';

export async function peerReportingRemoval(
  self: string,
  peers: readonly { readonly id: string; readonly address: string }[],
  credentials: grpc.ChannelCredentials,
  timeoutMs: number,
): Promise<string | null> {
  const others = peers.filter((p) => p.id !== self && p.address !== '');
  if (others.length === 0) return null;
  const client = new ControllerClient({ endpoints: others.map((p) => p.address), timeoutMs, credentials });
  try {
    const answers = await Promise.all(
      others.map((p) =>
        client.callOn(p.address, operatorMethod('MemberList'), { serializable: true }).then(
          (raw) => decodeMemberList(raw),
          () => null, // down or unreachable: it has nothing to say
        ),
      ),
    );
    for (const a of answers) {
      if (a !== null && a.removed.includes(self) && !a.members.some((m) => m.id === self)) return a.answeredBy;
    }
    return null;
  } finally {
    client.close();
  }
}
