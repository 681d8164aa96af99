/**
 * Which pending report entries the driver may pace (src/agents/report-batch.ts): only the ACK of
 * an agent whose last entry taken, on the same stream, already said it acknowledged what it was
 * sent. A claim, a departure, a NACK, a push left unanswered, and the first ACK after any of them
 * (or on another stream) are urgent.
 */
import t from 'tap';
import { ReportBatch } from '../../src/agents/report-batch.js';
import type { AgentReportEntry, AgentSyncFields } from '../../src/statemachine/index.js';

const synced = (v: number): AgentSyncFields => ({ sentVersion: v, ackedVersion: v, nackedVersion: null, lastError: null, resources: 1 });
const ack = (id: string, v: number, session = 's1', pushes = 1): AgentReportEntry => ({ op: 'sync', id, session, sync: synced(v), timeoutMs: 2000, pushes });

/** The batch after `taken` entries were added and taken (reported), then `pending` added. */
function after(taken: readonly AgentReportEntry[], pending: readonly AgentReportEntry[]): ReportBatch {
  const b = new ReportBatch();
  for (const e of taken) b.add(e);
  b.take(1000);
  for (const e of pending) b.add(e);
  return b;
}

void t.test('an agent in step: its next ACK on the same stream is not urgent', async (t) => {
  t.equal(after([ack('a', 1)], [ack('a', 2)]).hasUrgent, false);
  t.equal(after([ack('a', 1)], [ack('a', 2), ack('a', 3)]).hasUrgent, false, 'ACKs folded together stay quiet');
});

void t.test('the first ACK, or one after a claim, on another stream, or after a NACK, is urgent', async (t) => {
  t.equal(after([], [ack('a', 1)]).hasUrgent, true, 'nothing taken before');
  const claim: AgentReportEntry = { op: 'connect', id: 'a', session: 's1', epoch: { boot: 'b', seq: 1 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, sync: synced(1), timeoutMs: 2000, pushes: 0 };
  t.equal(after([claim], [ack('a', 2)]).hasUrgent, true, 'after a claim');
  t.equal(after([ack('a', 1)], [ack('a', 2, 's2')]).hasUrgent, true, 'another stream');
  const nacked: AgentReportEntry = { op: 'sync', id: 'a', session: 's1', sync: { sentVersion: 2, ackedVersion: 1, nackedVersion: 2, lastError: 'no', resources: 1 }, timeoutMs: 2000, pushes: 1 };
  t.equal(after([nacked], [ack('a', 3)]).hasUrgent, true, 'after a NACK');
  t.equal(after([ack('a', 1)], [nacked]).hasUrgent, true, 'a NACK');
});

void t.test('an urgent entry of one agent makes the batch urgent; taking it leaves the quiet ones quiet', async (t) => {
  const stale: AgentReportEntry = { op: 'sync', id: 'b', session: 's1', sync: { sentVersion: 3, ackedVersion: 2, nackedVersion: null, lastError: null, resources: 1 }, timeoutMs: 2000, pushes: 1 };
  const b = after([ack('a', 1), ack('b', 2)], [ack('a', 2), stale]);
  t.equal(b.hasUrgent, true, 'a push left unanswered');
  t.equal(b.take(1000).length, 2);
  t.equal(b.hasUrgent, false, 'nothing pending');
  b.add(ack('b', 3));
  t.equal(b.hasUrgent, true, "b's first ACK after its STALE entry");
  b.add(ack('a', 3));
  b.take(1000);
  b.add(ack('a', 4));
  b.add(ack('b', 4));
  t.equal(b.hasUrgent, false, 'both in step again');
  b.add({ op: 'disconnect', id: 'a', session: 's1', reason: 'gone', pushes: 0 });
  t.equal(b.hasUrgent, true, 'a departure');
});

void t.test("a departure never swallows its agent's pending sync, nor its own stream's claim: it goes in the next report", async (t) => {
  const gone: AgentReportEntry = { op: 'disconnect', id: 'a', session: 's1', reason: 'gone', pushes: 0 };
  const b = new ReportBatch();
  b.add(ack('a', 2));
  b.add(ack('a', 3, 's1', 2));
  b.add(gone);
  t.equal(b.hasUrgent, true, 'the waiting departure makes the batch urgent');
  // Taken into a report, a disconnect may be taken out again (the hub's recheckOffline): had it
  // swallowed the sync, the stream's last pushes and ACK would go with it.
  t.same(b.take(1000), [ack('a', 3, 's1', 3)], 'the sync first, with every push and the last ACK');
  t.same(b.take(1000), [gone], 'then the departure, carrying no push');
  t.equal(b.size, 0);

  const claim: AgentReportEntry = { op: 'connect', id: 'c', session: 's1', epoch: { boot: 'b', seq: 1 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, sync: synced(1), timeoutMs: 2000, pushes: 1 };
  b.add(claim);
  b.add({ ...gone, id: 'c' });
  t.same(b.take(1000), [claim], "its own stream's claim first");
  t.same(b.take(1000), [{ ...gone, id: 'c' }]);

  // Another stream's claim goes first, the departure after it: applied only if the record still
  // names the departed stream, as when the hub leaves out that claim, its stream gone too.
  b.add({ ...claim, session: 's2' });
  b.add({ ...gone, id: 'c' });
  t.same(b.take(1000), [{ ...claim, session: 's2' }], "another stream's claim first");
  t.same(b.take(1000), [{ ...gone, id: 'c' }], 'then the departure, not dropped');
  t.equal(b.size, 0);

  b.add(ack('d', 1));
  b.add({ ...gone, id: 'd' });
  b.add(ack('d', 1, 's2'));
  t.same(b.take(1000), [ack('d', 1, 's2', 2)], "a later entry of another stream goes first, with every push");
  t.same(b.take(1000), [{ ...gone, id: 'd' }], 'the waiting departure after it');
  t.equal(b.size, 0);

  b.add({ ...gone, id: 'e', pushes: 2 });
  b.add({ ...claim, id: 'e', session: 's2', pushes: 1 });
  t.same(b.take(1000), [{ ...claim, id: 'e', session: 's2', pushes: 3 }], "a claim of another stream after a pending departure goes first, carrying the departure's pushes");
  t.same(b.take(1000), [{ ...gone, id: 'e', pushes: 0 }], 'the departure after it, pushing none twice');
  t.equal(b.size, 0);
});

void t.test('two departures of different streams of one agent both reach the log: neither replaces the other in the batch', async (t) => {
  const claim: AgentReportEntry = { op: 'connect', id: 'a', session: 's2', epoch: { boot: 'b', seq: 2 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, sync: synced(1), timeoutMs: 2000, pushes: 0 };
  const gone = (session: string, pushes = 0): AgentReportEntry => ({ op: 'disconnect', id: 'a', session, reason: `${session} gone`, pushes });
  /** Every entry the batch hands out, report after report, until it is empty. */
  const drain = (b: ReportBatch): AgentReportEntry[][] => {
    const reports: AgentReportEntry[][] = [];
    for (let i = 0; i < 10 && b.size > 0; i++) reports.push(b.take(1000));
    t.equal(b.size, 0, 'the batch empties');
    t.equal(b.hasUrgent, false, 'nothing left waiting');
    return reports;
  };

  // s1's departure waits behind s2's claim; s2 leaves too before the claim goes. Should the
  // hub leave out that claim (its stream gone, the agent recorded on s1), only s1's departure
  // takes the agent offline: replaced by s2's, it was lost, and the agent was shown online on
  // a dead stream until the next reconcile round.
  let b = new ReportBatch();
  b.add(gone('s1'));
  b.add(claim);
  b.add(gone('s2'));
  t.equal(b.hasUrgent, true);
  let reports = drain(b);
  t.same(reports[0], [claim], "s2's claim first");
  t.same(reports.slice(1).flat().sort((x, y) => x.session.localeCompare(y.session)), [gone('s1'), gone('s2')], 'then both departures, one per report');

  // Two departures of different streams pending at once: both go.
  b = new ReportBatch();
  b.add(gone('s1', 1));
  b.add(gone('s2', 2));
  reports = drain(b);
  t.same(reports.flat().sort((x, y) => x.session.localeCompare(y.session)), [gone('s1', 1), gone('s2', 2)], 'each with its own pushes');

  // Behind a sync of a third stream: all three entries go, every push counted once.
  b = new ReportBatch();
  b.add(ack('a', 1, 's3', 1));
  b.add(gone('s1', 2));
  b.add(gone('s2', 3));
  reports = drain(b);
  t.same(reports[0], [ack('a', 1, 's3', 1)], "the sync first");
  const departures = reports.slice(1).flat().sort((x, y) => x.session.localeCompare(y.session));
  t.same(departures, [gone('s1', 2), gone('s2', 3)], 'then both departures');

  // The same stream's departure twice is one departure, its pushes summed.
  b = new ReportBatch();
  b.add(ack('a', 1, 's3', 1));
  b.add(gone('s1', 1));
  b.add(gone('s1', 2));
  reports = drain(b);
  t.same(reports, [[ack('a', 1, 's3', 1)], [gone('s1', 3)]], 'one departure of s1, with both pushes');
});
