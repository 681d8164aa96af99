/**
 * What a controller does with its data dir when it starts: one deterministic function of what
 * the data dir holds, the flags, and the peers' answers to the start-up question (hello.ts).
 * Production (src/node/startup.ts) and the simulation run this same function.
 *
 * The rules (docs/architecture.md, "Identity"; docs/operate.md, what each refusal means):
 *  - A data dir made for another member id is refused, naming both.
 *  - A file whose cluster.name a majority of the other members refuse is refused, naming both
 *    names: under that name the node can be in no quorum (name-refusal.ts).
 *  - A data dir belonging to another cluster than the one its peers run is refused: when a
 *    majority of the cluster's members answer with one other cluster id and none with its own
 *    (a lone foreign peer proves nothing; the identity checks keep the two apart at run time).
 *  - A data dir the cluster has recorded as superseded (another incarnation recorded for this
 *    member) or removed is refused, naming the procedure that brings the member back.
 *  - An empty data dir whose member the cluster already knows (it recorded or heard an
 *    incarnation for it) is refused: the member's state was lost, and it must come back as a
 *    new member (remove, add, start with --join), never as itself with an empty log.
 *  - An empty data dir with --join, or whose peers show a cluster that is already running
 *    (a cluster id, or a log beyond the bootstrap entry), starts empty and learns from the
 *    cluster's log what it is: it never writes a bootstrap entry of its own.
 *  - Otherwise an empty data dir bootstraps from the cluster file, as every initial member does,
 *    unless a peer still in the cluster's creation bootstraps (or did) from other nodes: every
 *    initial member must write the same first entry (initial-nodes.ts), so that is refused,
 *    naming the difference.
 *  - A data dir with state starts from it; with --join, not when a peer answers for another
 *    cluster (a restore whose old data dirs were not moved aside).
 * If no peer answers, the identity checks (acceptance.ts) keep whatever the node creates from
 * harming the cluster it may once have belonged to.
 */
import { sameAddress } from '../config/host-port.js';
import type { HelloReply } from './hello.js';
import { creationDigest, describeDifference, sameInitialNodes, type InitialNodes } from './initial-nodes.js';
import { refuseForName } from './name-refusal.js';
import type { CreationDigest, IdentityId, LocalIdentity } from './types.js';

export type DiskState =
  | { readonly kind: 'empty' }
  | {
      readonly kind: 'present';
      /** null: written by a version without identities. */
      readonly identity: LocalIdentity | null;
      readonly lastIndex: number;
    };

/**
 * What one peer answered the start-up question, or why it did not: `status`, the gRPC status's
 * name (`UNAVAILABLE`, `PERMISSION_DENIED`, ...) with its `details` (a controller's refusal reads
 * `CODE: reason`), or null for an answer that did not decode; `error`, both in one line for logs.
 */
export type PeerAnswer =
  | { readonly peer: string; readonly reply: HelloReply }
  | { readonly peer: string; readonly error: string; readonly status: string | null; readonly details: string };

export interface StartupInput {
  /** `--id`. */
  readonly memberId: string;
  /** `--join`. */
  readonly join: boolean;
  readonly dataDir: string;
  /** The file's `cluster.name`, and the file, for a refusal to name. */
  readonly clusterName: string;
  readonly configFile: string;
  /** How many members the cluster file lists, this one included. */
  readonly clusterSize: number;
  /** The cluster file's nodes: what this node would bootstrap from. */
  readonly nodes: InitialNodes;
  /** This node's `address` in the file: where its peers dial it. */
  readonly selfAddress: string;
  readonly disk: DiskState;
  readonly answers: readonly PeerAnswer[];
}

export type StartupRefusalCode = 'WRONG_MEMBER' | 'CLUSTER_NAME' | 'FOREIGN_CLUSTER' | 'SUPERSEDED' | 'REMOVED' | 'ALREADY_BOOTSTRAPPED' | 'NODES_DIFFER' | 'MEMBER_RUNNING' | 'RESTORE_CUT_SHORT';

export type StartupDecision =
  | {
      readonly action: 'bootstrap';
      readonly reason: string;
      /** A peer answered from the cluster's first state too: this is the cluster's creation. */
      readonly creationSeen: boolean;
      /** The digest of the nodes it bootstraps from, for its envelopes. */
      readonly creation: CreationDigest;
    }
  | { readonly action: 'join'; readonly reason: string; readonly warning: string | null }
  | {
      readonly action: 'start';
      readonly reason: string;
      /** The freshest peer's applied state records this data dir: the cluster knows it. */
      readonly recorded: boolean;
      /** Some peers answered for another cluster (too few to refuse): say so at start. */
      readonly warning: string | null;
    }
  | { readonly action: 'refuse'; readonly code: StartupRefusalCode; readonly message: string };

const REBUILD =
  'ctl member remove {id}; ctl member add {id} ADDRESS --learner; then start it with an empty data dir and --join ' +
  '(docs/operate.md, "Rebuilding a lost member")';

const rebuild = (id: string): string => REBUILD.replaceAll('{id}', id);

type Answered = { readonly peer: string; readonly reply: HelloReply };

/**
 * A joiner the cluster records at another address than its own waits for ever: the leader
 * replicates to the address it has (attack round 10: a typo in `ctl member add`, and the joiner
 * said nothing for minutes). Said at once, with the fix.
 */
function addressWarning(input: StartupInput, answered: readonly { readonly peer: string; readonly reply: HelloReply }[]): string | null {
  const recorded = answered.find((a) => a.reply.you.member && a.reply.you.address !== null)?.reply.you.address ?? null;
  if (recorded === null || sameAddress(recorded, input.selfAddress)) return null;
  const id = input.memberId;
  return (
    `the cluster has ${id} at ${recorded}, but this node's address is ${input.selfAddress} (cluster.nodes in ${input.configFile}): ` +
    `the leader replicates to ${recorded}, so this node will not catch up. Add it at its address: ctl member remove ${id}; ctl member add ${id} ${input.selfAddress} --learner; then start it again with --join`
  );
}

/**
 * What a --join start waits for that may never come, said at once (attack-operator round 15:
 * each of these waited in silence, `ctl health` saying only "heard from 0 of 0 voters"): a
 * cluster that does not list this member (`ctl member add` forgotten, or run after the start),
 * and peers that all answer empty, as joiners do (every initial member of a new cluster started
 * with --join: none bootstraps, so no leader ever replicates to any of them).
 */
function joinWarning(input: StartupInput, answered: readonly Answered[], freshest: Answered | null): string | null {
  const address = addressWarning(input, answered);
  if (address !== null) return address;
  const id = input.memberId;
  const running = answered.filter((a) => a.reply.clusterId !== null || a.reply.lastIndex > 1);
  if (running.length > 0) {
    if (freshest === null || freshest.reply.you.member) return null;
    const cluster = freshest.reply.clusterId === null ? '' : ` ${freshest.reply.clusterId}`;
    return (
      `${id} is not a member of cluster${cluster} (answered by ${running.map((a) => a.peer).join(', ')}): this node waits, empty, until it is added: ` +
      `ctl member add ${id} ${input.selfAddress} (against the running cluster; the leader then replicates to it)`
    );
  }
  const silent = input.answers.filter((a) => !('reply' in a)).map((a) => a.peer);
  // No peer answered: the first member of a new cluster started with --join (round 15 warned
  // only the ones after it, which see it answer empty), or a cluster that is down or elsewhere.
  if (answered.length === 0) {
    if (silent.length === 0) return null;
    return (
      `--join: no peer answered (${silent.join(', ')}): this node waits, empty, for the leader of a running cluster that has added it (ctl member add ${id} ${input.selfAddress}) to replicate to it. ` +
      `If this is the first start of a new cluster, start the members of cluster.nodes without --join (an empty data dir then bootstraps); if the cluster runs, check that ${input.configFile} names its members' addresses`
    );
  }
  if (answered.some((a) => a.reply.lastIndex > 0)) return null;
  return (
    `--join: no peer runs a cluster or is creating one (${answered.map((a) => a.peer).join(', ')} answered with an empty log, as joiners do` +
    `${silent.length === 0 ? '' : `; ${silent.join(', ')} did not answer`}): this node waits for a leader to replicate to it, and none comes if every member ` +
    `was started with --join. To create a new cluster, start the members of cluster.nodes without --join (an empty data dir then bootstraps); ` +
    '--join is for a member added with ctl member add to a running cluster'
  );
}

/**
 * What a node that started with --join and still knows no cluster configuration waits for that
 * may never come, asked again while it waits (join-watch.ts): the first member of an all---join
 * start hears the others only once they start, after its own start-up question.
 */
export function joinWaitWarning(input: StartupInput): string | null {
  const answered: Answered[] = input.answers.filter((a): a is Answered => 'reply' in a);
  const freshest = answered.reduce<Answered | null>((best, a) => (best === null || a.reply.appliedIndex > best.reply.appliedIndex ? a : best), null);
  return joinWarning(input, answered, freshest);
}

export function decideStartup(input: StartupInput): StartupDecision {
  const { memberId, disk } = input;
  const answered: Answered[] = input.answers.filter((a): a is Answered => 'reply' in a);
  const own: LocalIdentity | null = disk.kind === 'present' ? disk.identity : null;

  if (own !== null && own.memberId !== memberId) {
    return {
      action: 'refuse',
      code: 'WRONG_MEMBER',
      message: `data dir ${input.dataDir} belongs to member ${own.memberId} (incarnation ${own.incarnation}), but this process was started as ${memberId}: check --id and data_dir`,
    };
  }

  const name = refuseForName(input);
  if (name !== null) return name;

  const ownCluster = own?.clusterId ?? null;
  const others = ownCluster === null ? [] : answered.filter((a) => a.reply.clusterId !== null && a.reply.clusterId !== ownCluster);
  if (ownCluster !== null) {
    const same = answered.some((a) => a.reply.clusterId === ownCluster);
    const majority = Math.floor(input.clusterSize / 2) + 1;
    if (others.length >= majority && new Set(others.map((a) => a.reply.clusterId)).size === 1 && !same) {
      const theirs = [...new Set(others.map((a) => a.reply.clusterId))].join(', ');
      return {
        action: 'refuse',
        code: 'FOREIGN_CLUSTER',
        message:
          `data dir ${input.dataDir} belongs to cluster ${ownCluster}, but its peers run cluster ${theirs} ` +
          `(answered by ${others.map((a) => a.peer).join(', ')}): it was restored from another cluster or started with the wrong config. ` +
          // The likely mistake after a restore: the cluster it was to replace was never stopped.
          `If it was restored (controller restore) to replace cluster ${theirs}, that cluster still runs: stop ${others.map((a) => a.peer).join(', ')}, ` +
          `move their data dirs aside, start this node, then add each back with ctl member add and start it with --join (docs/operate.md, "Backup and restore"). ` +
          `To make this host a member of cluster ${theirs} instead: ${rebuild(memberId)}`,
      };
    }
  }

  // --join asks to join the cluster the peers run. A data dir of another cluster is not that
  // cluster's, whatever the count: most often a restore whose old data dirs were not moved aside,
  // where starting would bring the old cluster back beside the restored one.
  if (input.join && others.length > 0) {
    const theirs = [...new Set(others.map((a) => a.reply.clusterId))].join(', ');
    return {
      action: 'refuse',
      code: 'FOREIGN_CLUSTER',
      message:
        `--join: data dir ${input.dataDir} belongs to cluster ${ownCluster}, but ${others.map((a) => a.peer).join(', ')} answered for cluster ${theirs}: ` +
        `this data dir is not that cluster's. To join cluster ${theirs} (after a restore, say), move ${input.dataDir} aside and start again with --join; ` +
        `to run on in cluster ${ownCluster}, start without --join`,
    };
  }

  // The freshest view of this member: the peer (of our cluster, if we know it) that applied most.
  const relevant = answered.filter((a) => ownCluster === null || a.reply.clusterId === ownCluster);
  const freshest = relevant.reduce<Answered | null>((best, a) => (best === null || a.reply.appliedIndex > best.reply.appliedIndex ? a : best), null);

  if (disk.kind === 'present') {
    if (own === null) return { action: 'start', reason: 'data dir from a version without identities: it gets an incarnation now', recorded: false, warning: null };
    if (freshest !== null) {
      const you = freshest.reply.you;
      if (you.removed) {
        return {
          action: 'refuse',
          code: 'REMOVED',
          message:
            `member ${memberId} with this data dir (incarnation ${own.incarnation}) was removed from cluster ${freshest.reply.clusterId ?? 'unknown'} ` +
            `(answered by ${freshest.peer}); to bring it back: ctl member add ${memberId} ADDRESS --learner, empty ${input.dataDir}, start with --join`,
        };
      }
      // A record changes only through the member's removal, and a removed incarnation stays
      // listed as removed (answered above; the last 1,000 removals are kept, and past that the
      // run-time rules 2 and 5 still refuse this data dir). So when this data dir knows the cluster committed
      // its own incarnation, a peer recording another one without listing this one as removed
      // answers from an applied state older than that record (it lags, or has just restarted
      // and not yet applied up to its commit index), and proves nothing. Refusing here left a
      // member whose data dir held every committed entry down for good, with a quorum that
      // needed it (identity seed 63525). Such a stale peer still refuses this data dir's
      // acknowledgements (acceptance.ts, rule 2) until it has applied the record.
      if (you.recorded !== '' && you.recorded !== own.incarnation && !own.recorded) {
        return {
          action: 'refuse',
          code: 'SUPERSEDED',
          message:
            `member ${memberId} is recorded in cluster ${freshest.reply.clusterId ?? 'unknown'} as incarnation ${you.recorded} (answered by ${freshest.peer}), ` +
            `but data dir ${input.dataDir} holds incarnation ${own.incarnation}: it was replaced or restored from a backup. ` +
            `It may not vote with a log its member never acknowledged from; rebuild it: ${rebuild(memberId)}`,
        };
      }
    }
    // Too few to refuse (the foreign ones may be the strays), but two clusters under one file
    // never talk to each other and each goes on alone: one backup restored on two hosts, say.
    const warning =
      others.length === 0
        ? null
        : `${others.map((a) => a.peer).join(', ')} answered for cluster ${[...new Set(others.map((a) => a.reply.clusterId))].join(', ')}, ` +
          `not cluster ${ownCluster ?? 'unknown'} of data dir ${input.dataDir}: two clusters run under this cluster file ` +
          `(one backup restored on two hosts, say). Keep one; make the other's members members of it: ${rebuild('ID')}`;
    return { action: 'start', reason: `data dir holds incarnation ${own.incarnation}`, recorded: freshest?.reply.you.recorded === own.incarnation, warning };
  }

  const known = answered.find((a) => a.reply.you.recorded !== '' || a.reply.you.heard !== '');
  if (known !== undefined) {
    const incarnation = known.reply.you.recorded !== '' ? known.reply.you.recorded : known.reply.you.heard;
    return {
      action: 'refuse',
      code: 'ALREADY_BOOTSTRAPPED',
      message:
        `member ${memberId} has already been bootstrapped: ${known.peer} knows it as incarnation ${incarnation} ` +
        `${known.reply.clusterId === null ? '' : `in cluster ${known.reply.clusterId} `}but data dir ${input.dataDir} holds no Raft state (no ${input.dataDir}/raft, or an empty one), so its state was lost. ` +
        `It must not vote with an empty log; rebuild it as a new member: ${rebuild(memberId)}`,
    };
  }
  if (input.join) return { action: 'join', reason: '--join: start empty and learn the cluster from its log', warning: joinWarning(input, answered, freshest) };
  const running = answered.find((a) => a.reply.clusterId !== null || a.reply.lastIndex > 1);
  if (running !== undefined) {
    const member = freshest?.reply.you.member ?? running.reply.you.member;
    return {
      action: 'join',
      reason:
        `${running.peer} runs a cluster already (${running.reply.clusterId === null ? `log at index ${running.reply.lastIndex}` : `cluster ${running.reply.clusterId}`}): ` +
        'start empty and learn from its log what this member is, rather than write a bootstrap entry of its own',
      warning: member ? addressWarning(input, answered) : `${memberId} is not a member of that cluster yet: add it with ctl member add ${memberId} ADDRESS`,
    };
  }
  const differs = answered.find((a) => a.reply.creationNodes !== null && !sameInitialNodes(a.reply.creationNodes, input.nodes));
  if (differs !== undefined) {
    const peer = differs.peer;
    return {
      action: 'refuse',
      code: 'NODES_DIFFER',
      message:
        `cluster.nodes differs from ${peer}'s, which creates the cluster from other nodes (${describeDifference(input.nodes, differs.reply.creationNodes!, peer)}): ` +
        'every initial member must start from the same cluster.nodes, or their first log entries differ where Raft takes them for one. ' +
        `Give this node the right file and start it again; if ${peer}'s is the wrong one, stop ${peer}, empty its data dir ` +
        '(no cluster id yet: it never had a leader, so it holds no write) and start it with the right file. Nothing was bootstrapped here',
    };
  }
  const silent = input.answers.length - answered.length;
  return {
    action: 'bootstrap',
    creationSeen: answered.length > 0,
    creation: creationDigest(input.nodes),
    reason:
      answered.length === 0
        ? `no peer answered (${silent} asked): writing the initial configuration from the cluster file`
        : `every peer that answered (${answered.map((a) => a.peer).join(', ')}) holds only the initial configuration: joining the cluster's creation`,
  };
}

/** The data dir a decision creates, for the caller to persist with what it writes. */
export function identityFor(decision: StartupDecision, memberId: string, disk: DiskState, newId: () => IdentityId): LocalIdentity | null {
  switch (decision.action) {
    case 'bootstrap':
      return { memberId, incarnation: newId(), clusterId: null, origin: 'bootstrap', recorded: false, creationSeen: decision.creationSeen, creation: decision.creation };
    case 'join':
      return { memberId, incarnation: newId(), clusterId: null, origin: 'join', recorded: false, creationSeen: false, creation: null };
    case 'start':
      if (disk.kind === 'present' && disk.identity !== null) return { ...disk.identity, recorded: disk.identity.recorded || decision.recorded };
      return { memberId, incarnation: newId(), clusterId: null, origin: 'legacy', recorded: false, creationSeen: true, creation: null };
    case 'refuse':
      return null;
  }
}
