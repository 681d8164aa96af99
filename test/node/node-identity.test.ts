/**
 * The node's identity runtime (src/node/node-identity.ts): the cluster id is written down before
 * a message that carried it takes effect, the recorded and creation flags are learned and kept,
 * refusals are reported at a bounded rate, a leader's duties are proposed once, and a data dir
 * that contradicts its own log stops the process.
 */
import pino from 'pino';
import t from 'tap';
import type { LocalIdentity, PeerEnvelope, RefusalCode } from '../../src/identity/index.js';
import { ESTABLISH_AFTER_MS, NodeIdentity } from '../../src/node/node-identity.js';
import type { Message } from '../../src/raft/messages.js';
import type { MemberRecord, MembersView } from '../../src/statemachine/index.js';
import { CLUSTER_A, CLUSTER_B, INC, identity, nodes } from '../identity/fixtures.js';

/** A members table the test edits as the log would. */
class Members implements MembersView {
  clusterId: string | null = null;
  readonly removed = new Set<string>();
  private readonly rows = new Map<string, MemberRecord>();

  constructor(ids: readonly string[]) {
    for (const id of ids) this.set(id, '');
  }

  set(id: string, incarnation: string, role: 'voter' | 'learner' = 'voter'): void {
    this.rows.set(id, { id, address: `${id}:1`, role, status: 'online', statusSince: 0, statusReason: '', statusTerm: 0, statusObservedAt: 0, autoPromote: false, incarnation });
  }

  delete(id: string): void {
    this.rows.delete(id);
  }

  list(): readonly MemberRecord[] {
    return [...this.rows.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): MemberRecord | null {
    return this.rows.get(id) ?? null;
  }

  // Identity duties read no status transitions.
  readonly statusTransitionSeq = 0;
  statusTransitionsSince(): { readonly items: readonly never[]; readonly missed: boolean } {
    return { items: [], missed: false };
  }

  wasRemovedId(): boolean {
    return false;
  }

  removedIdList(): readonly string[] {
    return [];
  }

  get size(): number {
    return this.rows.size;
  }

  wasRemoved(incarnation: string): boolean {
    return this.removed.has(incarnation);
  }
}

interface Rig {
  readonly node: NodeIdentity;
  readonly members: Members;
  readonly written: LocalIdentity[];
  readonly reports: { direction: 'in' | 'out'; peer: string; code: RefusalCode | null; report: boolean }[];
  readonly details: string[];
  readonly fatal: Error[];
  raft: { term: number; lastIndex: number };
  applied: number;
  /** The commit index the leader of the node's term vouched for (RaftHost.vouchedCommit); null: none. */
  vouched: number | null;
  now: number;
  /** What the bound state says of the cluster version: every member stamps a boot id. */
  bootRequired: boolean;
  /** Settles the oldest identity write still held (with `persist: 'held'`). */
  release(err?: Error): Promise<void>;
}

/** Processes' boot ids: 16 hex digits, as drawn (anything else is refused, envelope-format.ts). */
const BOOT = { own: 'b1b1b1b1b1b1b1b1', real: '00000000000000e1', copy: '00000000000000c0', restart: '00000000000000e2' } as const;

/** `logs`: where the node's log lines go, as JSON objects (silent otherwise). */
function rig(start: Partial<LocalIdentity> = {}, persist: 'sync' | 'held' = 'sync', logs?: { level: number; msg: string }[]): Rig {
  const held: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const r: Rig = {
    members: new Members(['c1', 'c2', 'c3']),
    written: [],
    reports: [],
    details: [],
    fatal: [],
    raft: { term: 2, lastIndex: 1 },
    applied: 1,
    vouched: null,
    now: 1000,
    bootRequired: false,
    node: undefined as unknown as NodeIdentity,
    release: async (err) => {
      const next = held.shift();
      if (next === undefined) throw new Error('no write held');
      if (err === undefined) next.resolve();
      else next.reject(err);
      // Let the write's continuations run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
  const node = new NodeIdentity({
    self: 'c1',
    clusterName: 'prod',
    configured: (id) => ['c1', 'c2', 'c3'].includes(id),
    fileNodes: nodes('c1', 'c2', 'c3'),
    identity: identity(start),
    boot: BOOT.own,
    processHoldMs: 1000,
    persist: (i) => {
      r.written.push(i);
      if (persist === 'sync') return;
      return new Promise<void>((resolve, reject) => held.push({ resolve, reject }));
    },
    logger: logs === undefined ? pino({ level: 'silent' }) : pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) }),
    onRefusal: (direction, peer, code, details, report) => void (r.reports.push({ direction, peer, code, report }), r.details.push(details)),
    reportStatus: async () => false,
    onFatal: (err) => void r.fatal.push(err),
    now: () => r.now,
  });
  node.bind({ members: () => r.members, raft: () => r.raft, appliedIndex: () => r.applied, vouchedCommit: () => r.vouched, bootRequired: () => r.bootRequired });
  (r as { node: NodeIdentity }).node = node;
  return r;
}

const env = (from: string, over: Partial<PeerEnvelope> = {}): PeerEnvelope => ({ clusterName: 'prod', from, clusterId: CLUSTER_A, incarnation: INC(2), toIncarnation: '', creation: '', boot: '', ...over });
const append = (from: string): Message => ({ type: 'Append', from, to: 'c1', term: 2, prevIndex: 1, prevTerm: 1, entries: [], commit: 1, commitOnly: false });
const vote = (from: string, lastLogIndex: number): Message => ({ type: 'Vote', from, to: 'c1', term: 3, lastLogIndex, lastLogTerm: 1, commit: 0, transfer: false });

void t.test('a cluster id heard from a peer is written down before anything it carried is delivered', async (t) => {
  const r = rig({}, 'held');
  const first = r.node.judgeBatch(env('c2'), [append('c2')]);
  t.match(first, { accept: true, deliver: [], adopt: null }, 'nothing delivered yet');
  t.equal(first.accept && first.dropped.length, 1);
  t.same(r.written.map((i) => i.clusterId), [CLUSTER_A], 'the record is being written');
  t.equal(r.node.identity.clusterId, null, 'not in effect before it is durable');
  r.node.judgeBatch(env('c2'), [append('c2')]);
  t.equal(r.written.length, 1, 'a second message does not write it again');
  await r.release();
  t.equal(r.node.identity.clusterId, CLUSTER_A, 'in effect once written');
  t.match(r.node.envelope('c2'), { clusterId: CLUSTER_A, incarnation: INC(1) });
  const after = r.node.judgeBatch(env('c2'), [append('c2')]);
  t.match(after, { accept: true, dropped: [] });
  t.equal(after.accept && after.deliver.length, 1, 'and then the messages go through');
  t.match(r.node.judgeBatch(env('c2', { clusterId: CLUSTER_B }), [append('c2')]), { accept: false, refusal: { code: 'CLUSTER_ID' } }, 'another cluster is refused from then on');
});

void t.test('a failed identity write stops the process', async (t) => {
  const r = rig({}, 'held');
  r.node.judgeBatch(env('c2'), [append('c2')]);
  await r.release(new Error('disk full'));
  t.match(r.fatal, [{ message: 'disk full' }]);
  t.equal(r.node.identity.clusterId, null);
});

void t.test('the recorded flag: from a peer that applied our record, or from our own applied state', async (t) => {
  const r = rig({ clusterId: CLUSTER_A });
  r.node.noteHeard(env('c2', { toIncarnation: INC(7) }));
  t.equal(r.node.identity.recorded, false, 'a peer recording another data dir for us proves nothing');
  r.node.noteHeard(env('c2', { clusterId: CLUSTER_B, toIncarnation: INC(1) }));
  t.equal(r.node.identity.recorded, false, 'nor does a peer of another cluster');
  r.node.noteHeard(env('c2', { toIncarnation: INC(1) }));
  t.equal(r.node.identity.recorded, true, 'a peer of our cluster that applied our record');
  t.equal(r.written.at(-1)?.recorded, true, 'and it is written down');
  t.equal(r.node.heardFrom('c2'), INC(2));

  const s = rig();
  s.members.clusterId = CLUSTER_A;
  s.members.set('c1', INC(1));
  s.node.onApplied();
  t.match(s.node.identity, { clusterId: CLUSTER_A, recorded: true }, 'the id and the record learned from the log at once');
  t.equal(s.written.length, 1);
  s.node.onApplied();
  t.equal(s.written.length, 1, 'applying again writes nothing');
});

void t.test('a data dir whose cluster id its own log contradicts stops the process', async (t) => {
  const r = rig({ clusterId: CLUSTER_B });
  r.members.clusterId = CLUSTER_A;
  r.node.onApplied();
  t.match(r.fatal, [{ code: 'IDENTITY_CONFLICT', message: /belongs to cluster 00000000000000bb, but its log says cluster 00000000000000aa/ }]);
});

void t.test("signs of the cluster's creation, for a data dir that bootstrapped while no peer answered", async (t) => {
  const r = rig({ creationSeen: false });
  r.node.hello('c2', { incarnation: '', clusterId: null, lastIndex: 5, joining: false, nodes: null });
  r.node.hello('c2', { incarnation: '', clusterId: null, lastIndex: 0, joining: true, nodes: null });
  r.node.hello('c9', { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null });
  t.equal(r.node.identity.creationSeen, false, 'not from a log beyond the first entry, a joiner, or an id outside the file');
  const answer = r.node.hello('c2', { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null });
  t.equal(r.node.identity.creationSeen, true, 'from a member of the file about to create the cluster');
  t.match(answer, { memberId: 'c1', incarnation: INC(1), clusterId: null, lastIndex: 1 });

  const s = rig({ creationSeen: false });
  s.node.judgeBatch(env('c2', { clusterId: '' }), [vote('c2', 4)]);
  t.equal(s.node.identity.creationSeen, false, 'a vote asked by a candidate with a longer log is no sign');
  s.node.judgeBatch(env('c2', { clusterId: '' }), [vote('c2', 1)]);
  t.equal(s.node.identity.creationSeen, true, 'a candidate with nothing beyond the first entry is');

  const u = rig({ creationSeen: false, clusterId: CLUSTER_A });
  u.node.hello('c2', { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null });
  t.equal(u.node.identity.creationSeen, false, 'once a cluster id is known, an empty asker is a lost member, not a creation');
});

void t.test('before any sign of creation, such a data dir votes only for candidates as new as itself', async (t) => {
  const r = rig({ creationSeen: false });
  const longer = r.node.judgeBatch(env('c2', { clusterId: '' }), [vote('c2', 4)]);
  t.match(longer, { accept: true, deliver: [], dropped: [{ why: /votes only for a candidate with nothing beyond the first entry/ }] });
  const fresh = r.node.judgeBatch(env('c3', { clusterId: '', incarnation: INC(3) }), [vote('c3', 1)]);
  t.equal(fresh.accept && fresh.deliver.length, 1);
  const later = r.node.judgeBatch(env('c2', { clusterId: '' }), [vote('c2', 4)]);
  t.equal(later.accept && later.deliver.length, 1, 'after the sign it votes as any member of a new cluster');
});

void t.test("a leader without a cluster id shows the creation only through a commit it vouched for", async (t) => {
  // Seed 20705 (with heartbeats sent while the leader writes): n2's data dir lost while it and n3
  // alone held the committed entry that drew the cluster id; n3, leading term 4 with its commit
  // index still below that entry, carried no id, and its snapshot at 9 let n2's replacement win
  // term 5 with a laggard's vote and its own, overwriting committed entries.
  const r = rig({ creationSeen: false });
  r.raft = { term: 4, lastIndex: 9 };
  r.node.judgeBatch(env('c3', { clusterId: '', incarnation: INC(3) }), [{ type: 'Append', from: 'c3', to: 'c1', term: 4, prevIndex: 8, prevTerm: 3, entries: [], commit: 9, commitOnly: false }]);
  r.node.judgeBatch(env('c3', { clusterId: '', incarnation: INC(3) }), [{ type: 'Heartbeat', from: 'c3', to: 'c1', term: 4, commit: 9, context: '' }]);
  t.equal(r.node.identity.creationSeen, false, "a leader's messages without an id are no sign on their own");
  r.applied = 9;
  r.node.onApplied();
  t.equal(r.node.identity.creationSeen, false, 'nor is applying its commit index while the leader has not vouched for it');
  t.match(r.node.campaignRefusal(), { rule: 6, why: /votes only for a candidate with nothing beyond the first entry \(found one with last index 9\)/ });
  t.equal(r.node.mayCampaign(), false, 'and it does not elect itself with that log, as it would vote for no one with it');
  r.vouched = 12;
  r.node.onApplied();
  t.equal(r.node.identity.creationSeen, false, 'a vouched commit not applied yet is no sign');
  r.raft = { term: 4, lastIndex: 12 };
  r.applied = 12;
  r.node.onApplied();
  t.equal(r.node.identity.creationSeen, true, 'applied through a vouched commit with no cluster id: the cluster is being created');
  t.equal(r.written.at(-1)?.creationSeen, true, 'written down');
  t.equal(r.node.mayCampaign(), true, 'it campaigns as any member of a new cluster');

  const s = rig({ creationSeen: false });
  s.vouched = 12;
  s.applied = 12;
  s.members.clusterId = CLUSTER_A;
  s.node.onApplied();
  t.match(s.node.identity, { creationSeen: false, clusterId: CLUSTER_A }, 'with the id applied, its records decide instead (rule 5)');
  const u = rig({ creationSeen: false, origin: 'join' });
  u.vouched = 12;
  u.applied = 12;
  u.node.onApplied();
  t.equal(u.node.identity.creationSeen, false, 'a data dir that joined waits for its record, whatever it applied');
});

void t.test('refusals are reported once a minute per peer and code, counted every time by the caller', async (t) => {
  const r = rig();
  const refusal = { code: 'CLUSTER_ID' as const, reason: 'x' };
  r.node.onRefused('c2', refusal);
  r.node.onRefused('c2', refusal);
  r.node.onRefused('c3', refusal);
  r.node.onRefused('intruder', refusal);
  r.node.onRefusedBy('c2', null, 'no reason');
  r.now += 60_000;
  r.node.onRefused('c2', refusal);
  t.same(
    r.reports.map((x) => `${x.direction}:${x.peer}:${x.code ?? '-'}:${x.report}`),
    ['in:c2:CLUSTER_ID:true', 'in:c2:CLUSTER_ID:false', 'in:c3:CLUSTER_ID:true', 'in:unknown:CLUSTER_ID:true', 'out:c2:-:true', 'in:c2:CLUSTER_ID:true'],
    'ids outside the cluster are named "unknown" (they come from outside and are unbounded)',
  );
});

void t.test('a caller refused for its certificate is not named as the member it claimed to be', async (t) => {
  const r = rig();
  r.node.onRefused('c2', { code: 'NOT_A_PEER', reason: "the caller's certificate (CN=op) is not a peer certificate" });
  r.node.onRefused('c3', { code: 'WRONG_PEER', reason: "the caller's peer certificate is member c2's" });
  t.same(r.reports.map((x) => `${x.peer}:${x.code ?? '-'}`), ['unknown:NOT_A_PEER', 'unknown:WRONG_PEER']);
  t.match(r.details, [/CN=op.*claimed to be "c2"/, /member c2's.*claimed to be "c3"/], 'the claim is in the details, not the name');
});

void t.test("a leader's duties: the cluster id once every voter is heard (or after a wait), each proposed once", async (t) => {
  const r = rig();
  t.same(r.node.duties(), [], 'a follower has none');
  r.raft = { term: 2, lastIndex: 2 };
  r.node.onRole(true);
  t.same(r.node.duties(), [], 'not before its own no-op applies');
  r.applied = 2;
  r.node.noteHeard(env('c2', { clusterId: '' }));
  t.same(r.node.duties(), [], 'not before every voter is heard');
  r.node.noteHeard(env('c3', { clusterId: '', incarnation: INC(3) }));
  const [d] = r.node.duties();
  t.same(d, { kind: 'establish', incarnations: [{ id: 'c1', incarnation: INC(1) }, { id: 'c2', incarnation: INC(2) }, { id: 'c3', incarnation: INC(3) }] });
  const settle = r.node.begin(d!);
  t.same(r.node.duties(), [], 'not proposed again while in flight');
  settle(new Error('lost leadership'));
  t.equal(r.node.duties().length, 1, 'proposed again after a failure');

  const s = rig();
  s.raft = { term: 2, lastIndex: 2 };
  s.applied = 2;
  s.node.onRole(true);
  s.node.noteHeard(env('c2', { clusterId: '' }));
  s.now += ESTABLISH_AFTER_MS;
  t.match(s.node.duties(), [{ kind: 'establish', incarnations: [{ id: 'c1' }, { id: 'c2' }] }], 'a silent voter does not hold the id back for ever');

  s.members.clusterId = CLUSTER_A;
  s.members.set('c1', INC(1));
  s.members.set('c2', INC(2));
  s.node.onApplied();
  s.node.noteHeard(env('c3', { incarnation: INC(3) }));
  t.same(s.node.duties(), [{ kind: 'record', id: 'c3', incarnation: INC(3) }], 'a member heard later is recorded');
});

void t.test('a member removed before its data dir was recorded, then re-added: only the new data dir is recorded', async (t) => {
  const r = rig();
  r.members.clusterId = CLUSTER_A;
  r.members.set('c1', INC(1));
  r.members.set('c2', INC(2));
  r.members.set('c4', '');
  r.raft = { term: 2, lastIndex: 2 };
  r.applied = 2;
  r.node.onRole(true);
  r.node.noteHeard(env('c4', { incarnation: INC(4) }));
  r.members.delete('c4');
  r.node.onApplied();
  r.node.noteHeard(env('c4', { incarnation: INC(4) })); // the removed process still talks
  t.equal(r.node.heardFrom('c4'), null, "a removed member's incarnation is forgotten, and not heard again while it is out");
  r.members.set('c4', ''); // re-added, to be started with an empty data dir
  r.node.onApplied();
  t.same(r.node.duties(), [], 'the old data dir is not recorded for the new member');
  r.node.noteHeard(env('c4', { incarnation: INC(9) }));
  t.same(r.node.duties(), [{ kind: 'record', id: 'c4', incarnation: INC(9) }], 'the new one is, once heard');
});

void t.test('two processes of one member: batches and pings of the second are refused while the first is heard; the envelope carries this process', async (t) => {
  const r = rig({ clusterId: CLUSTER_A });
  t.match(r.node.envelope('c2'), { boot: BOOT.own }, 'this process is on every envelope');
  t.match(r.node.judgeBatch(env('c2', { boot: BOOT.real }), [append('c2')]), { accept: true });
  r.now += 100;
  t.match(r.node.judgeBatch(env('c2', { boot: BOOT.copy }), [vote('c2', 9)]), { accept: false, refusal: { code: 'DUPLICATE_PROCESS' } }, 'a vote request of the copy never reaches Raft');
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' }, 'nor does its ping count as contact');
  t.match(r.node.judgeEnvelope(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' });
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null, 'the first is still heard');
  t.equal(r.node.judgePing(env('c3', { boot: BOOT.copy })), null, 'another member is judged apart');
  const malformed = r.node.judgePing(env('c2', { boot: 'f'.repeat(1 << 16) }));
  t.match(malformed, { code: 'MALFORMED_ENVELOPE' }, 'a boot id that is not one claims nothing');
  t.ok((malformed?.reason.length ?? Infinity) < 200, 'and its refusal does not carry it whole');
  r.now += 500;
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null);
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' }, 'the copy speaks on, never silent for a hold');
  r.now += 501;
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' });
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null, 'both heard a hold after the copy appeared');
  r.now += 5000;
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' }, 'heard beside the first, the copy stays refused when the first falls silent');
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.restart })), null, 'a new process after the silence is a restart');
});

void t.test('what the operator is told of second processes: marks per member, and the peers refusing this node', async (t) => {
  const r = rig({ clusterId: CLUSTER_A });
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null);
  t.equal(r.node.duplicateMark('c2'), null, 'one process: no mark');
  r.now += 100;
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' });
  t.equal(r.node.duplicateMark('c2'), null, 'refused, not yet proven: a quick restart draws the same refusal');
  t.equal(r.node.duplicateMark('c3'), null);
  // Proven (heard beside the real one past a hold), then the real one falls silent for good.
  r.now += 500;
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null);
  r.now += 500;
  t.match(r.node.judgePing(env('c2', { boot: BOOT.copy })), { code: 'DUPLICATE_PROCESS' }, 'the copy speaks on, never silent for a hold');
  r.now += 1;
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null);
  t.strictSame(r.node.duplicateMark('c2'), { secondMsAgo: 0, holderWasProven: false }, 'proven now');
  let refusedUntil = r.now;
  while (r.node.judgePing(env('c2', { boot: BOOT.copy })) !== null) {
    refusedUntil = r.now;
    r.now += 1000;
    if (r.now > 1_000_000) throw new Error('the copy was never taken');
  }
  t.ok(r.now - refusedUntil <= 1000, 'the copy took the id');
  t.ok(r.now >= 30 * 1000, `only after the proven copy's lock-out of 30 holds (${r.now}ms)`);
  r.now += 10 * 60_000;
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.copy })), null);
  t.strictSame(r.node.duplicateMark('c2'), { secondMsAgo: null, holderWasProven: true }, 'long after its last refusal, the holder is the process once proven a second one');

  t.strictSame(r.node.refusedAsDuplicateBy(), []);
  // Refused on for longer than a restart is (the hold, 1000ms here), every 200ms.
  for (let i = 0; i <= 6; i++, r.now += 200) {
    r.node.onRefusedBy('c3', 'DUPLICATE_PROCESS', 'two processes speak as c1');
    r.node.onRefusedBy('c2', 'CLUSTER_ID', 'another cluster');
    r.node.onRefusedBy('stranger', 'DUPLICATE_PROCESS', 'from outside');
  }
  t.strictSame(r.node.refusedAsDuplicateBy(), ['c3'], 'only a member refusing this node as a second process');
  r.now += 2001;
  t.strictSame(r.node.refusedAsDuplicateBy(), [], 'no longer, two holds later');
});

void t.test("peers refusing this node's cluster name are named for its cut-off reason (round 6's F2)", async (t) => {
  const r = rig({ clusterId: CLUSTER_A });
  t.equal(r.node.refusedForName(), '');
  r.node.onRefusedBy('c3', 'CLUSTER_NAME', 'CLUSTER_NAME: cluster name mismatch: expected "att6", found "prod"');
  r.node.onRefusedBy('c2', 'CLUSTER_ID', 'another cluster');
  r.node.onRefusedBy('stranger', 'CLUSTER_NAME', 'CLUSTER_NAME: cluster name mismatch: expected "x", found "prod"');
  t.equal(r.node.refusedForName(), `c3 refuses it as CLUSTER_NAME: c1's file names the cluster "prod", it runs "att6" (give c1 the cluster's file and restart it)`, 'one refusal is enough: only a member, and only over the name');
  t.equal(r.reports.filter((x) => x.code === 'CLUSTER_NAME').length, 2, 'still logged, audited and counted as before');
  r.now += 2001;
  t.equal(r.node.refusedForName(), '', 'no longer, two holds after the last refusal');
});

void t.test('peers answering for another cluster id: marked from refusals both ways and from answers, logged once, forgotten when accepted (B1)', async (t) => {
  const logs: { level: number; msg: string }[] = [];
  const r = rig({ clusterId: CLUSTER_A }, 'sync', logs);
  const errors = (): string[] => logs.filter((l) => l.level === 50).map((l) => l.msg);
  t.strictSame(r.node.otherClusterPeers(), []);
  t.equal(r.node.otherClustersReason(), '');

  t.match(r.node.judgePing(env('c2', { clusterId: CLUSTER_B })), { code: 'CLUSTER_ID' }, 'c2 refused: its ping carries another cluster id');
  r.node.judgeBatch(env('c2', { clusterId: CLUSTER_B }), [append('c2')]);
  r.node.judgeEnvelope(env('c2', { clusterId: CLUSTER_B }));
  t.strictSame(r.node.otherClusterPeers(), [{ peer: 'c2', clusterId: CLUSTER_B, since: 1000, lastSeenAt: 1000 }]);
  t.equal(errors().length, 1, 'one error-level line, however many refusals');
  t.match(errors()[0], /^c2 \(cluster 00000000000000bb\) answers for another cluster than c1's \(00000000000000aa\): two clusters run under one cluster file .*docs\/operate\.md/);

  r.now += 10;
  // Another cluster's node at c3's address, under its own id x9 (an address taken, not two
  // clusters under one file): the dial fails with a warning naming it (ping-failure.ts), but c3
  // is not marked, which would call this node unhealthy and tell the operator to move the data
  // dirs of x9's cluster aside.
  r.node.onRefusedBy('c3', 'CLUSTER_ID', `CLUSTER_ID: cluster id mismatch: x9 belongs to cluster ${CLUSTER_B}, "c1" to cluster ${CLUSTER_A} (same name, another cluster)`);
  t.strictSame(r.node.otherClusterPeers().map((p) => p.peer), ['c2'], 'a node refusing under another id than the one dialled is not the member answering for another cluster');
  r.node.onRefusedBy('c3', 'CLUSTER_ID', `CLUSTER_ID: cluster id mismatch: c3 belongs to cluster ${CLUSTER_B}, c1 to cluster ${CLUSTER_A} (same name, another cluster)`);
  r.node.onRefusedBy('stranger', 'CLUSTER_ID', `CLUSTER_ID: cluster id mismatch: stranger belongs to cluster ${CLUSTER_B}, c1 to cluster ${CLUSTER_A}`);
  t.strictSame(r.node.otherClusterPeers().map((p) => [p.peer, p.clusterId]), [['c2', CLUSTER_B], ['c3', CLUSTER_B]], 'a peer refusing this node, with the id its refusal names; not an unknown sender');
  t.equal(r.reports.filter((x) => x.code === 'CLUSTER_ID').length, 3, 'refusals still reported to the log, audit and metrics as before');

  r.node.noteHeard(env('c3'));
  t.strictSame(r.node.otherClusterPeers().map((p) => p.peer), ['c2'], 'c3 accepted under our cluster id: forgotten');
  r.node.answeredFor('c3', '00000000000000cc');
  r.node.answeredFor('c2', CLUSTER_A);
  t.strictSame(r.node.otherClusterPeers().map((p) => [p.peer, p.clusterId]), [['c3', '00000000000000cc']], "the periodic question's answers mark and clear too");
  r.node.answeredFor('c2', null);
  t.strictSame(r.node.otherClusterPeers().map((p) => p.peer), ['c3'], 'a peer without a cluster id yet says nothing');
  r.node.hello('c2', { incarnation: INC(2), clusterId: CLUSTER_B, lastIndex: 9, joining: false, nodes: null });
  t.strictSame(r.node.otherClusterPeers().map((p) => p.peer), ['c2', 'c3'], 'nor does a peer asking the start-up question from another cluster');
  t.match(r.node.otherClustersReason(), /^c2 \(cluster 00000000000000bb\), c3 \(cluster 00000000000000cc\) answer for another cluster than c1's/);

  r.members.delete('c3');
  r.node.onApplied();
  t.strictSame(r.node.otherClusterPeers().map((p) => p.peer), ['c2', 'c3'], 'c3 is still in the file');
  r.now += 8001;
  t.strictSame(r.node.otherClusterPeers(), [], 'not seen for the window (eight holds by default): forgotten');

  const fresh = rig();
  fresh.node.answeredFor('c2', CLUSTER_B);
  t.strictSame(fresh.node.otherClusterPeers(), [], 'a node without a cluster id has nothing to compare');
});

void t.test('a message without a boot id: admitted mid-upgrade, refused once every member stamps one', async (t) => {
  const r = rig({ clusterId: CLUSTER_A });
  t.equal(r.node.judgePing(env('c2', { boot: '' })), null, 'below cluster version 0.3 a 0.2.x member sends none');
  r.bootRequired = true;
  t.match(r.node.judgePing(env('c2', { boot: '' })), {
    code: 'MALFORMED_ENVELOPE',
    reason: 'boot: expected 16 hex digits, found none: every member of this cluster runs 0.3 or later, which stamps its process on every message',
  });
  t.match(r.node.judgeBatch(env('c2', { boot: '' }), [append('c2')]), { accept: false, refusal: { code: 'MALFORMED_ENVELOPE' } }, 'batches too');
  t.equal(r.node.judgePing(env('c2', { boot: BOOT.real })), null, 'a stamped message passes');
});
