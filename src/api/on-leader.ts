/**
 * Runs a request where only the leader can serve it: here when this node leads, otherwise
 * forwarded to the leader once (a forwarded request is never forwarded again). While there is
 * no leader, or leadership moves under the request, it retries until its deadline.
 */
import { leaderErrorOf, type ConsensusPort } from './consensus-port.js';
import { ServiceFailure } from './service-error.js';

/** Sends a request on to the leader at `address` (LeaderForwarder does, over gRPC). */
export interface ForwardToLeader {
  call<Res>(address: string, method: string, request: object, deadline: number): Promise<Res>;
}

export interface OnLeaderDeps {
  readonly id: string;
  readonly host: ConsensusPort;
  readonly addressOf: (id: string) => string | null;
  readonly forwarder: ForwardToLeader;
}

export type OnLeader = <Res>(
  method: string,
  req: { readonly forwarded: boolean },
  deadline: number,
  local: (remaining: number) => Promise<Res>,
) => Promise<Res>;

export function onLeaderOf(deps: OnLeaderDeps): OnLeader {
  const { host } = deps;
  return async function onLeader<Res>(method: string, req: { readonly forwarded: boolean }, deadline: number, local: (remaining: number) => Promise<Res>): Promise<Res> {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader answered before the deadline');
      const leader = host.softState().leader ?? (await host.waitForLeader(remaining));
      if (leader === null) throw new ServiceFailure('NO_LEADER', `no leader elected within ${Math.round(remaining)}ms`);
      try {
        if (leader === deps.id) return await local(deadline - Date.now());
        if (req.forwarded) throw new ServiceFailure('NOT_LEADER', `${deps.id} is not the leader (leader is ${leader})`);
        const address = deps.addressOf(leader);
        if (address === null) throw new ServiceFailure('NO_LEADER', `leader ${leader} has no known address`);
        return await deps.forwarder.call<Res>(address, method, req, deadline);
      } catch (err) {
        const retriable =
          leaderErrorOf(err) !== null ||
          (err instanceof ServiceFailure && err.code === 'NO_LEADER' && !req.forwarded);
        if (!retriable || req.forwarded) throw err;
        await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
      }
    }
  };
}
