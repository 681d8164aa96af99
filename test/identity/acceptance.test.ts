/** The message-acceptance check, rule by rule (src/identity/acceptance.ts). */
import t from 'tap';
import { creationByCommit, judgeBatch, judgeCampaign, judgePing, voteRefusal } from '../../src/identity/acceptance.js';
import type { PeerEnvelope } from '../../src/identity/types.js';
import type { Message } from '../../src/raft/messages.js';
import { CLUSTER_A, CLUSTER_B, INC, identity, members, view } from './fixtures.js';

const env = (over: Partial<PeerEnvelope> = {}): PeerEnvelope => ({ clusterName: 'prod', clusterId: CLUSTER_A, from: 'c2', incarnation: INC(2), toIncarnation: '', creation: '', boot: '', ...over });
const heartbeat = (term = 5): Message => ({ type: 'Heartbeat', from: 'c2', to: 'c1', term, commit: 3, context: '' });
const appendResp: Message = { type: 'AppendResp', from: 'c2', to: 'c1', term: 5, reject: false, index: 9, rejectHint: 0, hintTerm: 0 };
const voteResp: Message = { type: 'VoteResp', from: 'c2', to: 'c1', term: 6, reject: false };
const vote = (lastLogIndex: number): Message => ({ type: 'Vote', from: 'c2', to: 'c1', term: 6, lastLogIndex, lastLogTerm: lastLogIndex > 0 ? 1 : 0, commit: 0, transfer: false });
const preVote = (lastLogIndex: number): Message => ({ type: 'PreVote', from: 'c2', to: 'c1', term: 6, lastLogIndex, lastLogTerm: lastLogIndex > 0 ? 1 : 0 , commit: 0});

/** c1 in established cluster A, with recorded incarnations for c1 and c2. */
const established = view({
  identity: identity({ clusterId: CLUSTER_A }),
  members: members({ c1: { incarnation: INC(1) }, c2: { incarnation: INC(2) }, c3: {} }, { clusterId: CLUSTER_A, removed: [INC(44)] }),
});

void t.test('a batch from the recorded incarnation of a member of the same cluster is delivered whole', async (t) => {
  const v = judgeBatch(established, env(), [heartbeat(), appendResp, vote(20)]);
  t.match(v, { accept: true, dropped: [], adopt: null });
  if (v.accept) t.equal(v.deliver.length, 3);
});

void t.test('rule 1: another cluster name or id, an unknown sender, a removed incarnation', async (t) => {
  t.match(judgeBatch(established, env({ clusterName: 'staging' }), [heartbeat()]), { accept: false, refusal: { code: 'CLUSTER_NAME', reason: /expected "prod", found "staging"/ } });
  t.match(judgeBatch(established, env({ clusterId: CLUSTER_B }), [heartbeat()]), {
    accept: false,
    refusal: { code: 'CLUSTER_ID', reason: /c1 belongs to cluster 00000000000000aa, c2 to cluster 00000000000000bb/ },
  });
  t.match(judgeBatch(established, env({ from: 'zz' }), [heartbeat()]), { accept: false, refusal: { code: 'UNKNOWN_MEMBER', reason: /found "zz"/ } });
  // A node of another cluster of the same name whose members have other ids: the id says so
  // before the member check, so that the dialer hears "another cluster", not "unknown sender".
  t.match(judgePing(established, env({ from: 'x2', clusterId: CLUSTER_B })), { code: 'CLUSTER_ID', reason: /c1 belongs to cluster 00000000000000aa, "x2" to cluster 00000000000000bb/ });
  t.match(judgeBatch(established, env({ from: 'x2', clusterId: CLUSTER_B }), [heartbeat()]), { accept: false, refusal: { code: 'CLUSTER_ID' } });
  const long = judgePing(established, env({ from: 'x'.repeat(1 << 16), clusterId: CLUSTER_B }));
  t.ok(long?.code === 'CLUSTER_ID' && long.reason.length < 200, `an unknown sender's id is cut short there too (${long?.reason.length} characters)`);
  t.match(judgePing(established, env({ from: 'x2', clusterId: 'not-an-id' })), { code: 'UNKNOWN_MEMBER' }, 'a malformed id is not compared before the member check');
  t.match(judgePing(established, env({ from: 'x2', clusterId: '' })), { code: 'UNKNOWN_MEMBER' }, 'nor is a missing one');
  t.match(judgeBatch(established, env({ incarnation: INC(44) }), [heartbeat()]), { accept: false, refusal: { code: 'REMOVED_MEMBER', reason: /incarnation 000000000000002c, which was removed/ } });
  // A member left out of `controller recover` still runs its old data dir: the new epoch has
  // another cluster id and records that incarnation as removed. REMOVED_MEMBER is what stops it
  // for good (exit 10, removal-watch.ts); CLUSTER_ID would leave it running beside the cluster.
  const recovered = view({ ...established, identity: identity({ clusterId: CLUSTER_B }), members: members({ c1: { incarnation: INC(1) } }, { clusterId: CLUSTER_B, removed: [INC(2)] }) });
  t.match(judgePing(recovered, env()), { code: 'REMOVED_MEMBER' }, "a recovery's left-out member is told it was removed, not another cluster's");
  t.match(judgeBatch(recovered, env(), [vote(20)]), { accept: false, refusal: { code: 'REMOVED_MEMBER' } });
  // A known sender's malformed field is still named before its cluster id, as before.
  t.match(judgePing(established, env({ clusterId: CLUSTER_B, boot: 'zz' })), { code: 'MALFORMED_ENVELOPE' }, "a member's malformed field is named first");
  const created = view({ ...established, identity: identity({ clusterId: CLUSTER_A, creation: INC(0xc1) }) });
  t.match(judgeBatch(created, env({ creation: INC(0xc2) }), [vote(1)]), {
    accept: false,
    refusal: { code: 'CREATION_NODES', reason: /^c2 bootstrapped from another cluster\.nodes than c1 \(nodes digest 00000000000000c2 there, 00000000000000c1 here\)/ },
  });
  t.match(judgePing(created, env({ creation: INC(0xc2) })), { code: 'CREATION_NODES' }, 'pings too: a member of another creation is not counted online');
  t.match(judgeBatch(created, env({ creation: INC(0xc1) }), [vote(1)]), { accept: true }, 'the same nodes');
  // attack-operator round 15: a node added to the file and started without --join while its
  // peers were down bootstrapped alone; "compare the files" found them equal, and "stop each
  // member started from the wrong one" could read as the running cluster's members.
  const lone = env({ clusterId: '', creation: INC(0xc2) });
  t.match(judgePing(created, lone), {
    code: 'CREATION_NODES',
    reason: /, and c2 holds no cluster id while the other runs cluster 00000000000000aa: c2 bootstrapped a cluster of its own .* so it holds no write\. Keep the running cluster as it is; stop c2 and move its data dir aside; then, if it is a new member, ctl member add c2 ADDRESS, or if it was a member whose data dir was lost, ctl member remove c2 first; and start it with --join/,
  });
  const alone = view({ ...established, identity: identity({ clusterId: null, creation: INC(0xc1) }), members: members({ c1: {}, c2: {} }) });
  t.match(judgePing(alone, env({ creation: INC(0xc2) })), { code: 'CREATION_NODES', reason: /, and c1 holds no cluster id while the other runs cluster 00000000000000aa: c1 bootstrapped a cluster of its own/ }, 'said alike on the lone node\'s side');
  t.match(judgePing(created, env({ creation: INC(0xc2) })), { code: 'CREATION_NODES', reason: /: every initial member must start from the same cluster\.nodes/ }, 'both established: the files are compared, as before');
  t.match(judgeBatch(created, env({ creation: '' }), [vote(1)]), { accept: true }, 'a sender that joined, or of an older version: nothing to compare');
  t.match(judgeBatch(established, env({ creation: INC(0xc2) }), [vote(1)]), { accept: true }, 'a receiver that joined: nothing to compare');
  const behind = view({ members: members({ c1: {} }) });
  t.match(judgeBatch(behind, env({ from: 'c3', clusterId: '' }), [heartbeat()]), { accept: true }, 'a member of the file this node has not learned yet is accepted');
});

void t.test('rule 2: a counted response from another incarnation than the recorded one is refused', async (t) => {
  for (const m of [appendResp, voteResp, { ...voteResp, type: 'PreVoteResp' } as Message, { type: 'HeartbeatResp', from: 'c2', to: 'c1', term: 5, context: '' } as Message]) {
    t.match(judgeBatch(established, env({ incarnation: INC(22) }), [m]), {
      accept: false,
      refusal: { code: 'SUPERSEDED_INCARNATION', reason: /c2 is recorded as incarnation 0000000000000002, the sender runs 0000000000000016: its data dir was lost or replaced/ },
    }, m.type);
  }
  t.match(judgeBatch(established, env({ incarnation: '' }), [appendResp]), { accept: false, refusal: { code: 'SUPERSEDED_INCARNATION', reason: /the sender runs none/ } }, 'no incarnation at all');
  t.match(judgeBatch(established, env({ incarnation: INC(22) }), [heartbeat(), vote(50)]), { accept: true }, 'its leader messages and vote requests pass: a member re-added since this node caught up looks the same');
  t.match(judgePing(established, env({ incarnation: INC(22) })), { code: 'SUPERSEDED_INCARNATION' }, 'its membership pings are refused: it is not the member the cluster knows');
  t.equal(judgePing(established, env()), null);
  t.match(judgeBatch(established, env({ from: 'c3', incarnation: INC(3) }), [appendResp]), { accept: true }, 'an unrecorded member is counted: the leader records it');
});

void t.test("rule 2, the other way: a leader's message meant for another incarnation of this member is refused", async (t) => {
  // c1 runs INC(1); the sender's applied state still records INC(9) for it (c1 was rebuilt).
  t.match(judgeBatch(established, env({ toIncarnation: INC(9) }), [heartbeat()]), {
    accept: false,
    refusal: { code: 'OTHER_INCARNATION', reason: /^Heartbeat from c2 was meant for incarnation 0000000000000009 of c1, which now runs 0000000000000001/ },
  });
  t.match(judgeBatch(established, env({ toIncarnation: INC(1) }), [heartbeat()]), { accept: true }, 'meant for this data dir');
  t.match(judgeBatch(established, env({ toIncarnation: '' }), [heartbeat()]), { accept: true }, 'a sender that records none for it yet');
  t.match(judgeBatch(established, env({ toIncarnation: INC(9) }), [vote(20)]), { accept: true }, 'a vote request says nothing about this data dir');
});

void t.test('rule 3: a leader without a cluster id is not followed by a member of an established cluster', async (t) => {
  for (const m of [heartbeat(), { type: 'Append', from: 'c2', to: 'c1', term: 5, prevIndex: 1, prevTerm: 1, entries: [], commit: 1, commitOnly: false } as Message]) {
    t.match(judgeBatch(established, env({ clusterId: '' }), [m]), { accept: false, refusal: { code: 'NO_CLUSTER_ID', reason: /from c2, which has no cluster id, to a member of cluster 00000000000000aa/ } }, m.type);
  }
  t.match(judgeBatch(established, env({ clusterId: '' }), [appendResp]), { accept: true }, "a response from a member that has not learned the id yet is fine");
  const fresh = view({ lastIndex: 0, identity: identity({ origin: 'join' }), members: members({}) });
  t.match(judgeBatch(fresh, env({ clusterId: '' }), [heartbeat()]), { accept: true }, 'a node without an id follows one without an id (a new cluster)');
});

void t.test('rule 4: a term that leads ours by more than 2^32 is refused', async (t) => {
  t.match(judgeBatch(established, env(), [heartbeat(5 + 2 ** 32 + 1)]), { accept: false, refusal: { code: 'TERM_LEAD', reason: /Heartbeat from c2: term 4294967302 leads this node's term 5 by more than 2\^32/ } });
  t.match(judgeBatch(established, env(), [heartbeat(5 + 2 ** 32)]), { accept: true }, 'exactly the lead allowed');
});

void t.test('rule 5: who may vote', async (t) => {
  t.equal(voteRefusal(established, 20), null, 'a recorded member of an established cluster');
  const unrecorded = { ...established, self: 'c3', identity: identity({ memberId: 'c3', incarnation: INC(3), clusterId: CLUSTER_A }) };
  t.match(voteRefusal(unrecorded, 20), /c3 does not vote until cluster 00000000000000aa has recorded its incarnation 0000000000000003/);
  const toldRecorded = { ...unrecorded, identity: { ...unrecorded.identity, recorded: true } };
  t.equal(voteRefusal(toldRecorded, 20), null, 'recorded, as a peer or its own apply told it before a restart: it votes though its applied state lags');
  const superseded = { ...established, identity: identity({ incarnation: INC(11), clusterId: CLUSTER_A, recorded: true }) };
  t.match(voteRefusal(superseded, 20), /c1 is recorded as incarnation 0000000000000001, this data dir is 000000000000000b: it never votes/);
  const joined = view({ identity: identity({ origin: 'join' }), lastIndex: 30, members: members({ c1: {}, c2: {} }) });
  t.match(voteRefusal(joined, 20), /started empty to join a cluster/);
  const creating = view({ lastIndex: 1, identity: identity({ creationSeen: true }), members: members({ c1: {}, c2: {} }) });
  t.equal(voteRefusal(creating, 20), null, 'a new cluster, before its id: an ordinary vote');
});

void t.test('rule 6: a data dir that bootstrapped alone votes only for candidates as new as itself until it sees the creation', async (t) => {
  const alone = view({ lastIndex: 1, identity: identity({ creationSeen: false }), members: members({ c1: {}, c2: {} }) });
  t.match(voteRefusal(alone, 3), /bootstrapped while no peer answered and has seen no sign of the cluster's creation: it votes only for a candidate with nothing beyond the first entry \(found one with last index 3\)/);
  t.equal(voteRefusal(alone, 1), null, 'a candidate as new as itself');
  const adopted = { ...alone, identity: { ...alone.identity, clusterId: CLUSTER_A } };
  t.match(voteRefusal(adopted, 1), /c1 bootstrapped while no peer answered, and cluster 00000000000000aa exists already: it votes once the cluster has recorded its incarnation 0000000000000001/, 'once the cluster has an id, not even for a candidate as new as itself');
  t.match(judgeBatch(alone, env(), [preVote(1)]), { accept: true, adopt: CLUSTER_A, dropped: [{ why: /exists already/ }] }, 'nor for one that carries the id');
  t.equal(voteRefusal({ ...adopted, identity: { ...adopted.identity, recorded: true } }, 20), null, 'recorded, it votes');
  t.match(judgeBatch(alone, env({ clusterId: '' }), [preVote(1)]), { accept: true, creationSeen: true }, 'a peer asking with nothing beyond the first entry shows the creation');
  t.match(judgeBatch(alone, env({ clusterId: '' }), [{ type: 'PreVoteResp', from: 'c2', to: 'c1', term: 2, reject: false }]), { creationSeen: true }, 'so does a grant to this node while it has nothing beyond it');
  t.match(judgeBatch(alone, env({ clusterId: '' }), [preVote(7)]), { creationSeen: false, dropped: [{ why: /bootstrapped while no peer answered/ }] }, 'a lagging candidate shows nothing of the kind');
  t.match(judgeBatch({ ...alone, lastIndex: 4 }, env({ clusterId: '' }), [{ type: 'PreVoteResp', from: 'c2', to: 'c1', term: 2, reject: false }]), { creationSeen: false });
  t.match(judgeBatch(alone, env({ clusterId: '' }), [heartbeat(5)]), { accept: true, creationSeen: false }, "a leader without an id is no sign on its own: its applied state lags its log until it commits an entry of its term");
});

void t.test('rules 5-7 bind a node campaigning: it stands only where it would grant a candidate with its own log', async (t) => {
  const alone = view({ lastIndex: 9, identity: identity({ creationSeen: false }), members: members({ c1: {}, c2: {} }) });
  t.match(judgeCampaign(alone, false), { rule: 6, why: /found one with last index 9/ }, "a leader's log below a commit it vouched for: it may not stand (seed 20705)");
  t.equal(judgeCampaign(alone, true), null, "a log all of its term beyond the first entry: that term's leader had nothing beyond it, as at the creation");
  t.equal(judgeCampaign({ ...alone, lastIndex: 1 }, false), null, 'nothing beyond the first entry: as new as itself');
  const adopted = { ...alone, identity: { ...alone.identity, clusterId: CLUSTER_A } };
  t.match(judgeCampaign(adopted, true), { rule: 6, why: /exists already/ }, 'once it knows the cluster has an id, never before its record');
  const superseded = view({ identity: identity({ incarnation: INC(11), clusterId: CLUSTER_A, recorded: true }), members: members({ c1: { incarnation: INC(1) } }, { clusterId: CLUSTER_A }) });
  t.match(judgeCampaign(superseded, true), { rule: 5 }, 'another incarnation recorded: never');
  const laggard = view({ lastIndex: 1, identity: identity({ clusterId: CLUSTER_A, recorded: true }), members: members({ c1: { incarnation: INC(1) } }, { clusterId: CLUSTER_A }) });
  t.match(judgeCampaign(laggard, false), { rule: 7 }, 'knowing the id with nothing beyond the first entry: it lacks a committed entry');
  t.equal(judgeCampaign({ ...laggard, lastIndex: 20 }, false), null, 'a recorded member with a log: as ever');
});

void t.test("rule 6: a leader's word is a sign once this node applied a commit the leader vouched for, with no cluster id", async (t) => {
  const alone = identity({ creationSeen: false });
  const held = { identity: alone, appliedClusterId: null, appliedIndex: 12, vouchedCommit: 12 };
  t.equal(creationByCommit(held), true, 'applied through a vouched commit, and no id: as new as any member of the creation');
  t.equal(creationByCommit({ ...held, vouchedCommit: null }), false, "a commit index the leader has not vouched for (a new leader's, below its first entry) says nothing");
  t.equal(creationByCommit({ ...held, appliedIndex: 11 }), false, 'nor one not applied yet');
  t.equal(creationByCommit({ ...held, appliedClusterId: CLUSTER_A }), false, 'with the id applied, its records decide (rule 5)');
  t.equal(creationByCommit({ ...held, identity: { ...alone, clusterId: CLUSTER_A } }), false, 'nor once it adopted an id');
  t.equal(creationByCommit({ ...held, identity: { ...alone, origin: 'join' } }), false, 'a data dir that joined waits for its record');
  t.equal(creationByCommit({ ...held, identity: identity({ creationSeen: true }) }), false, 'nothing to learn once seen');
});

void t.test('rule 7: a node that knows the cluster id votes for no candidate with nothing beyond the first entry', async (t) => {
  // Seed 60422: c3's own log never got past the creation (it lagged); it adopted the id from a
  // peer's message. A lost c1 that bootstrapped while isolated asks it for a vote.
  const lagging = view({ self: 'c3', lastIndex: 1, identity: identity({ memberId: 'c3', incarnation: INC(3), creationSeen: true }), members: members({ c1: {}, c2: {}, c3: {} }) });
  t.equal(voteRefusal(lagging, 1), null, 'before the id: an ordinary vote, as in a new cluster');
  const knows = { ...lagging, identity: { ...lagging.identity, clusterId: CLUSTER_A } };
  t.match(voteRefusal(knows, 1), /cluster 00000000000000aa exists, so its creation is over: a candidate with nothing beyond the first entry lacks entries the cluster committed/);
  t.equal(voteRefusal(knows, 2), null, 'a candidate with more: Raft\'s own check decides');
  t.match(judgeBatch(lagging, env({ from: 'c1', clusterId: '' }), [preVote(1)]), { accept: true, dropped: [] }, 'the same request before the id passes');
  t.match(judgeBatch(knows, env({ from: 'c1', clusterId: '' }), [preVote(1), vote(1)]), { accept: true, dropped: [{ why: /creation is over/ }, { why: /creation is over/ }] }, 'after it, both requests are dropped');
  t.match(judgeBatch(lagging, env({ from: 'c2' }), [preVote(1)]), { accept: true, adopt: CLUSTER_A, dropped: [{ why: /creation is over/ }] }, 'adopting the id from the very message counts');
  t.match(voteRefusal({ ...established }, 1), /creation is over/, 'a recorded member too');
});

void t.test('vote requests the node may not answer are dropped, the rest of the batch delivered', async (t) => {
  const joined = view({ lastIndex: 0, identity: identity({ origin: 'join' }), members: members({ c1: {}, c2: {} }) });
  const v = judgeBatch(joined, env({ clusterId: '' }), [preVote(7), heartbeat()]);
  t.match(v, { accept: true, dropped: [{ message: { type: 'PreVote' }, why: /started empty to join/ }] });
  if (v.accept) t.same(v.deliver.map((m) => m.type), ['Heartbeat']);
});

void t.test('a node without a cluster id adopts the id of the cluster it hears from', async (t) => {
  const late = view({ lastIndex: 12, identity: identity({ origin: 'bootstrap', creationSeen: true }), members: members({ c1: {}, c2: {} }) });
  t.match(judgeBatch(late, env(), [heartbeat(), vote(20)]), { accept: true, adopt: CLUSTER_A, dropped: [] }, 'its log holds the cluster\'s first entries: until it applies the id it votes as a member of a new cluster');
  const joined = view({ lastIndex: 0, identity: identity({ origin: 'join' }), members: members({}) });
  t.match(judgeBatch(joined, env(), [heartbeat(), vote(20)]), { accept: true, adopt: CLUSTER_A, dropped: [{ message: { type: 'Vote' }, why: /started empty to join a cluster and does not vote before the cluster records it/ }] });
});
