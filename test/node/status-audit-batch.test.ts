/**
 * Every node records each committed status change of a member in its own audit trail, also when
 * it applies several in one batch. A follower stopped for 8 s (SIGSTOP) and resumed applied its
 * own offline and online together; comparing the record before and after the batch saw "online"
 * both times and recorded neither (found by an adversarial run; the other members recorded
 * both). The driver now reads the members kind's transitions in commit order; it compares
 * records only when the log cannot answer (a snapshot install, or more changes than it keeps).
 */
import pino from 'pino';
import t from 'tap';
import type { AuditEvent } from '../../src/membership/audit.js';
import type { MembershipPort } from '../../src/node/membership-port.js';
import { createMembershipNode } from '../../src/node/membership-driver.js';
import { StateMachine, encodeCommand, type MemberStatus, type MembersCommand } from '../../src/statemachine/index.js';
import type { NodeStatus } from '../../src/raft/index.js';
import { heartbeatFor } from '../membership/membership-sim.js';
import { systemScheduler } from '../../src/util/clock.js';

const setStatus = (id: string, status: MemberStatus, term: number, reason: string): MembersCommand => ({ kind: 'members', op: 'setStatus', id, status, reason, observedAt: 1_700_000_000_000 + term, term });

function harness(keepsTransitions: boolean): { sm: StateMachine; audited: AuditEvent[]; applied: () => void; marks: Map<string, string>; reads: () => number } {
  const sm = new StateMachine();
  const run = (c: MembersCommand): void => void sm.apply(sm.appliedIndex + 1, encodeCommand(c));
  run({ kind: 'members', op: 'bootstrap', members: ['c1', 'c2', 'c3'].map((id, i) => ({ id, address: `127.0.0.1:${7101 + i}` })) });
  run(setStatus('c2', 'online', 1, 'first decision'));
  const audited: AuditEvent[] = [];
  const marks = new Map<string, string>();
  let reads = 0;
  const status = { role: 'follower', term: 2, conf: { voters: ['c1', 'c2', 'c3'], learners: [] } } as unknown as NodeStatus;
  const port: MembershipPort = {
    self: 'c2',
    electionTimeoutMs: 1000,
    logger: pino({ level: 'silent' }),
    members: () => sm.members.list(),
    ...(keepsTransitions
      ? {
          statusTransitions: (seq: number) => {
            reads += 1;
            return { ...sm.members.statusTransitionsSince(seq), seq: sm.members.statusTransitionSeq };
          },
        }
      : {}),
    raftStatus: () => status,
    lastLeaderContactAt: () => null,
    propose: () => Promise.reject(new Error('not leading')),
    forwardCorrection: () => Promise.resolve(false),
    ping: () => Promise.reject(new Error('no peers here')),
    audit: (e, m) => {
      audited.push(e);
      for (const [k, v] of Object.entries(m ?? {})) marks.set(k, v);
    },
    auditMark: (k) => marks.get(k),
    onRtt: () => undefined,
  };
  // Never started: no timers; the test calls onApplied as the host does after each batch.
  const node = createMembershipNode(port, { heartbeat: heartbeatFor(2000, true), stateSyncIntervalMs: 5000, scheduler: systemScheduler, incarnation: 7 });
  return { sm, audited, applied: () => node.onApplied(), marks, reads: () => reads };
}

const changes = (events: readonly AuditEvent[]): string[] => events.filter((e) => e.type === 'member.status').map((e) => `${e.subject} ${e.from}->${e.to} (${e.reason})`);

void t.test("a member's offline and online applied in one batch are both recorded", async (t) => {
  const h = harness(true);
  h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c2', 'offline', 2, 'heartbeat timeout')));
  h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c2', 'online', 2, 'heard again')));
  h.applied();
  t.same(changes(h.audited), ['c2 online->offline (heartbeat timeout)', 'c2 offline->online (heard again)']);
  h.applied();
  t.equal(changes(h.audited).length, 2, 'recorded once');
});

void t.test('replayed after a restart, changes the trail holds are not recorded again', async (t) => {
  const first = harness(true);
  first.sm.apply(first.sm.appliedIndex + 1, encodeCommand(setStatus('c3', 'offline', 2, 'heartbeat timeout')));
  first.applied();
  t.equal(changes(first.audited).length, 1);
  // A second process replays the same log with the first one's audit marks.
  const second = harness(true);
  for (const [k, v] of first.marks) second.marks.set(k, v);
  second.sm.apply(second.sm.appliedIndex + 1, encodeCommand(setStatus('c3', 'offline', 2, 'heartbeat timeout')));
  second.applied();
  t.same(changes(second.audited), [], 'nothing twice');
});

void t.test('without the transitions (a port that keeps none), records are compared as before', async (t) => {
  const h = harness(false);
  h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c1', 'offline', 2, 'heartbeat timeout')));
  h.applied();
  t.same(changes(h.audited), ['c1 unknown->offline (heartbeat timeout)']);
  h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c1', 'online', 2, 'heard again')));
  h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c1', 'offline', 2, 'again')));
  h.applied();
  t.same(changes(h.audited), ['c1 unknown->offline (heartbeat timeout)'], 'a pair in one batch is invisible to comparing (the defect this fixes)');
});

void t.test('an apply that changes no member reads no transitions; the next status change is still recorded', async (t) => {
  for (const keeps of [true, false]) {
    const h = harness(keeps);
    h.applied();
    const audited = h.audited.length;
    const before = h.sm.members.list();
    h.sm.apply(h.sm.appliedIndex + 1, encodeCommand({ kind: 'kv', op: 'put', key: 'a', value: new Uint8Array([1]) }));
    t.equal(h.sm.members.list(), before, 'a put leaves the members list as it was');
    const reads = h.reads();
    h.applied();
    h.applied();
    t.equal(h.reads(), reads, 'the transitions are not read for applies that changed no member');
    t.equal(h.audited.length, audited, 'nothing recorded for a put');
    h.sm.apply(h.sm.appliedIndex + 1, encodeCommand(setStatus('c3', 'offline', 2, 'heartbeat timeout')));
    t.not(h.sm.members.list(), before, 'a status change gives a new list');
    h.applied();
    t.same(changes(h.audited).slice(-1), ['c3 unknown->offline (heartbeat timeout)'], `recorded (${keeps ? 'from the transitions' : 'by comparing records'})`);
  }
});
