/**
 * `member add|promote|remove` on the server, safe to repeat: a change already in effect
 * answers `unchanged` with a sentence saying so (ctl exits 0), an id never in the cluster is
 * UNKNOWN_NODE (exit 4). A plain add is one step: a learner with the intent to promote it,
 * which the leader's promoter carries out once it has caught up (src/autopilot/promoter.ts).
 */
import { dialProblem, sameAddress } from '../config/host-port.js';
import { caseTwinAddProblem, caseTwinHint, caseTwinOf } from '../config/id-case.js';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '../config/schema.js';
import { formatSetting } from '../settings/index.js';
import { removalProblem, removalWarning } from './removal-check.js';
import { encodeAddContext } from '../statemachine/add-context.js';
import type { StateMachine } from '../statemachine/index.js';
import { settingsKind } from '../statemachine/settings.js';
import { RaftError } from '../raft/errors.js';
import { HostError, type ConsensusPort } from './consensus-port.js';
import type { OnLeader } from './on-leader.js';
import { quoteKey, shortened } from './request-key.js';
import { ServiceFailure } from './service-error.js';
import type { MemberAddRequestMsg, MemberIdRequestMsg } from './wire-types.js';

/** MemberResponse: the configuration after the call, and what happened. */
export interface MemberResponseMsg {
  readonly voters: string[];
  readonly learners: string[];
  /** The change was already in effect; nothing was written. */
  readonly unchanged: boolean;
  readonly detail: string;
}

export interface MemberOps {
  add(req: MemberAddRequestMsg, deadline: number): Promise<MemberResponseMsg>;
  promote(req: MemberIdRequestMsg, deadline: number): Promise<MemberResponseMsg>;
  remove(req: MemberIdRequestMsg, deadline: number): Promise<MemberResponseMsg>;
}


/** `heard(id)`: whether this node, leading, heard a Raft message from peer `id` within an election timeout. */
/** How often a membership step waiting for another one to apply tries again. */
export const PENDING_RETRY_MS = 50;

/**
 * Raft makes one membership change at a time. Two operators running steps at once got "a
 * membership change at index N is not applied yet" (exit 1), though each step is safe to repeat:
 * the step now waits for the other to apply and runs again from its checks (it may find its
 * work done, or refused by the new configuration), within its deadline.
 */
function oneAtATime<Res>(deadline: number, step: (remaining: number) => Promise<Res>): (remaining: number) => Promise<Res> {
  return async (first) => {
    let remaining = first;
    for (;;) {
      try {
        return await step(remaining);
      } catch (err) {
        if (!(err instanceof RaftError && err.code === 'CONF_CHANGE_PENDING')) throw err;
        remaining = deadline - Date.now() - PENDING_RETRY_MS;
        if (remaining <= 0) {
          throw new ServiceFailure('CONF_CHANGE_PENDING', `${err.message}: another membership change is still being applied, and this one was not made; it is safe to run again`);
        }
        await new Promise((r) => setTimeout(r, PENDING_RETRY_MS));
      }
    }
  };
}

export function memberOps(selfId: string, host: ConsensusPort, sm: StateMachine, onLeader: OnLeader, heard: (id: string) => boolean): MemberOps {
  const response = (unchanged: boolean, detail: string): MemberResponseMsg => {
    const conf = host.status().conf;
    return { voters: [...conf.voters], learners: [...conf.learners], unchanged, detail };
  };
  const roleOf = (id: string): 'voter' | 'learner' | null => {
    const conf = host.status().conf;
    return conf.voters.includes(id) ? 'voter' : conf.learners.includes(id) ? 'learner' : null;
  };
  const settings = () => sm.view(settingsKind);
  const memberIds = (): string[] => sm.members.list().map((m) => m.id);

  /** What happens next to a learner, in one clause. */
  function promotionPlan(id: string, autoPromote: boolean): string {
    const s = settings();
    if (!autoPromote && !s.get('autopilot.promote_learners')) return `promote it with \`ctl member promote ${id}\` once it has caught up`;
    const stable = s.get('autopilot.server_stabilization_time');
    const wait = stable > 0 ? ` and stayed so for ${formatSetting('autopilot.server_stabilization_time', stable)}` : '';
    return `the leader promotes it to voter once it has caught up${wait} (\`ctl member list\` shows it)`;
  }

  /**
   * A learner may be promoted once it has every committed entry (etcd's isLearnerReady) and the
   * cluster has recorded its data dir: one not recorded refuses to vote (acceptance rule 5), and
   * a voter that cannot vote lowers how many failures the cluster survives.
   */
  async function waitReady(id: string, deadline: number): Promise<void> {
    for (;;) {
      const st = host.status();
      const pr = st.progress.get(id);
      const caughtUp = pr !== undefined && pr.match >= st.commit;
      const recorded = (sm.members.get(id)?.incarnation ?? '') !== '';
      if (caughtUp && recorded) return;
      if (Date.now() >= deadline) {
        if (!caughtUp) throw new ServiceFailure('TIMEOUT', `learner ${id} has not caught up (has ${pr?.match ?? 0} of ${st.commit}); is it running?`);
        throw new ServiceFailure('TIMEOUT', `learner ${id} has caught up, but the cluster has not recorded its data dir yet, and until it has it could not vote; is it running, and does the leader hear its pings?`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    async add(req, deadline) {
      if (!NODE_ID_PATTERN.test(req.id)) throw new ServiceFailure('INVALID_ARGUMENT', `invalid member id ${quoteKey(req.id)}: expected ${NODE_ID_RULE}, as cluster.nodes[].id`);
      // The cluster file's rules for cluster.nodes[].address (config/node-checks.ts), so a member
      // added later is held to what a bootstrapping one is.
      const undialable = dialProblem(req.address);
      if (undialable !== null) throw new ServiceFailure('INVALID_ARGUMENT', `invalid address: ${undialable}`);
      return onLeader('memberAdd', req, deadline, oneAtATime(deadline, async (remaining) => {
        const role = roleOf(req.id);
        if (role !== null) {
          const record = sm.members.get(req.id);
          if (record !== null && !sameAddress(record.address, req.address)) {
            throw new ServiceFailure('CONFLICT', `${req.id} is already a member at ${record.address}, not ${req.address}; to move it, remove it and add it again`);
          }
          if (role === 'voter') {
            // The learner role asked for is not what is in effect: no silent success.
            if (req.learner) throw new ServiceFailure('CONFLICT', `${req.id} is already a voter, not a learner: member add does not demote; to make it a learner, remove it and add it again with --learner`);
            return response(true, `${req.id} is already a voter; nothing changed`);
          }
          return response(true, `${req.id} is already a learner; nothing changed; ${promotionPlan(req.id, record?.autoPromote ?? false)}`);
        }
        // A new id that differs from a member's only in case is a typo, refused (config/id-case.ts);
        // an id the cluster had before is a rebuild of a member of a cluster that has such ids.
        const twin = sm.members.wasRemovedId(req.id) ? null : caseTwinOf(req.id, memberIds());
        if (twin !== null) throw new ServiceFailure('CONFLICT', caseTwinAddProblem(req.id, twin));
        // The id decides first (above: an id at another address is a move); then the address must be free.
        const holder = sm.members.list().find((m) => m.id !== req.id && sameAddress(m.address, req.address));
        if (holder !== undefined) {
          const spelled = holder.address === req.address ? '' : ` (as ${holder.address})`;
          throw new ServiceFailure('CONFLICT', `${req.address} is already the address of ${holder.id}${spelled}; each member needs its own`);
        }
        // A learner first (Raft thesis §4.2.1: catch up before voting), with the intent to promote
        // it recorded in the same entry, so any later leader carries it out.
        const autoPromote = !req.learner;
        await host.proposeConfChange({ type: 'add-learner', node: req.id, context: encodeAddContext({ address: req.address, autoPromote }) }, remaining);
        return response(false, `start it with \`controller --config FILE --id ${req.id} --join\`; ${promotionPlan(req.id, autoPromote)}`);
      }));
    },

    async promote(req, deadline) {
      return onLeader('memberPromote', req, deadline, oneAtATime(deadline, async (remaining) => {
        const role = roleOf(req.id);
        if (role === 'voter') return response(true, `${req.id} is already a voter; nothing changed`);
        if (role === null) throw new ServiceFailure('UNKNOWN_NODE', `${shortened(req.id)} is not a member${caseTwinHint(req.id, memberIds())}`);
        await waitReady(req.id, Date.now() + remaining);
        await host.proposeConfChange({ type: 'promote', node: req.id, context: '' }, deadline - Date.now());
        return response(false, '');
      }));
    },

    async remove(req, deadline) {
      return onLeader('memberRemove', req, deadline, oneAtATime(deadline, async (remaining) => {
        if (roleOf(req.id) === null) {
          if (sm.members.wasRemovedId(req.id)) return response(true, `${req.id} was already removed; nothing changed`);
          throw new ServiceFailure('UNKNOWN_NODE', `${shortened(req.id)} is not a member and never was${caseTwinHint(req.id, memberIds())}`);
        }
        const live = (v: string): boolean => v === selfId || heard(v);
        const problem = removalProblem(req.id, host.status().conf.voters, live);
        if (problem !== null) throw new ServiceFailure('FAILED_PRECONDITION', problem);
        const warning = removalWarning(req.id, host.status().conf.voters, live);
        if (req.id === selfId) {
          // A leader removing itself hands off first, then lets the new leader remove it.
          const next = await host.handOffLeadership();
          if (next === null) throw new ServiceFailure('NO_LEADER', 'could not hand leadership off before removing the leader');
          throw new HostError('NOT_LEADER', 'leadership handed off; retrying on the new leader', next);
        }
        await host.proposeConfChange({ type: 'remove', node: req.id, context: '' }, remaining);
        // The setting names an id, not a machine: a member added later under this id would take leadership.
        const preferred = settings().initialized && settings().get('cluster.preferred_leader') === req.id
          ? `; cluster.preferred_leader still names ${req.id}: clear it (ctl config set cluster.preferred_leader none) unless a member added later as ${req.id} should lead`
          : '';
        return response(false, `stop it; it stops by itself (exit 10) once it learns of its removal${preferred}${warning === null ? '' : `; ${warning}`}`);
      }));
    },
  };
}
