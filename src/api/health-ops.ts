/**
 * `ctl health` on the server: health is judged in the leader's view, so the leader answers
 * from its own report and a follower relays the leader's answer (one hop: a relayed request
 * is never relayed again). In an ordinary election the answer waits a little for the new
 * leader; with no leader, or a leader this node cannot reach, it answers at once that the
 * cluster is unhealthy and why, rather than fail: an operator wants the verdict, not an error.
 */
import type { ClusterHealthReport } from '../autopilot/health.js';
import type { ConsensusPort } from './consensus-port.js';
import { reportToWire, withoutLeaderWire, type HealthResponseMsg, type PreferredLeaderNote } from './health-wire.js';
import type { ForwardToLeader } from './on-leader.js';
import { ServiceFailure } from './service-error.js';

export interface HealthSource {
  /** This node's report when it leads, judged now; null when it does not lead. */
  report(): ClusterHealthReport | null;
  preferredLeader(): PreferredLeaderNote;
  /** How long a request waits for a leader to be elected before answering without one. */
  readonly leaderWaitMs: number;
}

export interface HealthOpsDeps {
  readonly id: string;
  readonly host: ConsensusPort;
  readonly addressOf: (id: string) => string | null;
  readonly forwarder: ForwardToLeader;
  readonly source: HealthSource;
  /**
   * Why this node cannot serve (cut off from a quorum, leaderless, refused by its peers as a
   * second process or over its cluster.name: quorum-guard.ts); null when it can. An answer
   * without a leader adds it: the refusals are often why there is none.
   */
  readonly cutOff?: () => string | null;
  /**
   * Peers of this node's file or membership that answer for another cluster id, named with the
   * fix ('' when none: other-cluster-peers.ts). The answer is unhealthy then, whatever the
   * leader judged: each of two clusters under one file calls itself healthy.
   */
  readonly otherClusters?: () => string;
}

export interface HealthRequestMsg {
  readonly forwarded: boolean;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function healthOps(deps: HealthOpsDeps): { health(req: HealthRequestMsg, deadline: number): Promise<HealthResponseMsg> } {
  const { host, source } = deps;

  const withoutLeader = (why: string): HealthResponseMsg => {
    const st = host.status();
    const cutOff = deps.cutOff?.() ?? null;
    const reason = cutOff === null ? why : `${why}; ${cutOff}`;
    const members = [...st.conf.voters.map((id) => ({ id, voter: true })), ...st.conf.learners.map((id) => ({ id, voter: false }))].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    return withoutLeaderWire(deps.id, st.term, members, reason, source.preferredLeader());
  };

  /** The answer made unhealthy by this node's evidence of another cluster under its file, if any. */
  const judged = (answer: HealthResponseMsg): HealthResponseMsg => {
    const other = deps.otherClusters?.() ?? '';
    if (other === '') return answer;
    // The words name this node (`... than c2's`): a relayed answer may carry the leader's too.
    return { ...answer, healthy: false, reason: answer.reason === '' ? other : `${answer.reason}; ${other}` };
  };

  const byLeader = async (req: HealthRequestMsg, deadline: number): Promise<HealthResponseMsg> => {
    const remaining = deadline - Date.now();
    const leader = host.softState().leader ?? (await host.waitForLeader(Math.max(0, Math.min(remaining, source.leaderWaitMs))));
    if (leader === null) return withoutLeader(`no leader: ${deps.id} knows of none`);
    if (leader === deps.id) {
      const report = source.report();
      if (report === null) return withoutLeader(`${deps.id} lost leadership while judging`);
      return reportToWire(report, deps.id, source.preferredLeader());
    }
    if (req.forwarded) throw new ServiceFailure('NOT_LEADER', `${deps.id} is not the leader (leader is ${leader})`);
    const address = deps.addressOf(leader);
    if (address === null) return withoutLeader(`leader ${leader} has no known address`);
    try {
      // A leader that does not answer within the leader wait is reported as such while the
      // client still listens (a frozen leader would otherwise hold the relay to the deadline).
      const relayed = await deps.forwarder.call<HealthResponseMsg>(address, 'health', { forwarded: true }, Math.min(deadline, Date.now() + source.leaderWaitMs));
      return { ...relayed, answeredBy: deps.id };
    } catch (err) {
      return withoutLeader(`leader ${leader} did not answer ${deps.id}: ${message(err)}`);
    }
  };

  return {
    async health(req, deadline) {
      return judged(await byLeader(req, deadline));
    },
  };
}
