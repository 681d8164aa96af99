/**
 * The autopilot driver on a hand-moved clock and a fake leader: it judges health from the
 * leader's view, proposes one removal at a time with its reason, hands leadership to the
 * preferred leader once the rules allow, and does nothing off the leader.
 */
import pino from 'pino';
import t from 'tap';
import { AutopilotDriver, type AutopilotPort } from '../../src/node/autopilot-driver.js';
import type { PeerContact } from '../../src/node/peer-contact.js';
import type { NodeStatus, PeerStatus } from '../../src/raft/index.js';
import { defaultSettings, type ClusterSettings } from '../../src/settings/index.js';
import type { MemberRecord } from '../../src/statemachine/index.js';
import { ManualScheduler } from './manual-scheduler.js';

const IDS = ['c1', 'c2', 'c3'];

class FakeLeader {
  role: NodeStatus['role'] = 'leader';
  term = 5;
  lastIndex = 100;
  match = new Map(IDS.map((id) => [id, 100]));
  voters = [...IDS];
  online = new Set(IDS);
  offlineSince = new Map<string, number>();
  settings: ClusterSettings = defaultSettings({ electionTimeoutMs: 1000 });
  removals: Array<{ id: string; reason: string }> = [];
  transfers: string[] = [];
  finishRemoval: (() => void) | null = null;

  constructor(private readonly clock: ManualScheduler) {}

  /** Everyone but `silent` spoke just now, on the current term. */
  contact(id: string, silent: ReadonlySet<string>): PeerContact | null {
    return silent.has(id) ? { lastHeardAt: 0, term: this.term - 1 } : { lastHeardAt: this.clock.now(), term: this.term };
  }

  port(silent: Set<string>): AutopilotPort {
    return {
      self: 'c1',
      electionTimeoutMs: 1000,
      logger: pino({ level: 'silent' }),
      raftStatus: () => this.status(),
      members: () => this.voters.map((id) => record(id, this.offlineSince.get(id) ?? null)),
      online: () => this.online,
      contact: (id) => this.contact(id, silent),
      settings: () => this.settings,
      commitStall: () => ({ stalledMs: 0, limitMs: 2000 }),
      remove: (id, reason) => {
        this.removals.push({ id, reason });
        return new Promise<void>((resolve) => {
          this.finishRemoval = () => {
            this.voters = this.voters.filter((v) => v !== id);
            resolve();
          };
        });
      },
      transferLeadership: (id) => void this.transfers.push(id),
    };
  }

  status(): NodeStatus {
    const progress = new Map<string, PeerStatus>(
      this.role === 'leader' ? this.voters.map((id) => [id, { match: this.match.get(id) ?? 0, next: 101, state: 'replicate', recentActive: true, learner: false }]) : [],
    );
    return {
      id: 'c1',
      term: this.term,
      vote: 'c1',
      leader: this.role === 'leader' ? 'c1' : 'c2',
      role: this.role,
      commit: this.lastIndex,
      applied: this.lastIndex,
      lastIndex: this.lastIndex,
      firstIndex: 1,
      conf: { voters: this.voters, learners: [] },
      progress,
      leadTransferee: null,
    };
  }
}

function record(id: string, offlineSince: number | null): MemberRecord {
  return {
    id,
    address: `127.0.0.1:7${id.slice(1)}`,
    role: 'voter',
    status: offlineSince === null ? 'online' : 'offline',
    statusSince: 1,
    statusReason: '',
    statusTerm: 5,
    statusObservedAt: offlineSince ?? 0,
    incarnation: '',
    autoPromote: false,
  };
}

function setup() {
  const clock = new ManualScheduler();
  const leader = new FakeLeader(clock);
  const silent = new Set<string>();
  const events = { removed: [] as string[], transfers: [] as string[] };
  const driver = new AutopilotDriver(leader.port(silent), clock, {
    onRemoved: (id) => events.removed.push(id),
    onTransfer: (id) => events.transfers.push(id),
  });
  driver.start();
  return { clock, leader, silent, driver, events };
}

void t.test("the report is the leader's view of every member", async (t) => {
  const { leader, silent, driver } = setup();
  silent.add('c3');
  leader.online.delete('c3');
  leader.match.set('c2', 10);
  leader.settings = { ...leader.settings, 'autopilot.max_trailing_logs': 50 };
  const r = driver.report()!;
  t.strictSame(r.members.map((m) => [m.id, m.healthy]), [['c1', true], ['c2', false], ['c3', false]]);
  t.match(r.members[1]!.problems, [{ kind: 'behind', entries: 90 }]);
  t.equal(r.healthy, false, 'one healthy voter of three');
  leader.role = 'follower';
  t.equal(driver.report(), null, 'a follower does not judge');
});

void t.test('a dead voter is removed once, with its reason, and the next only after the first applied', async (t) => {
  const { clock, leader, silent, events } = setup();
  leader.settings = { ...leader.settings, 'autopilot.cleanup_dead_servers': true, 'autopilot.dead_server_threshold': 60_000, 'autopilot.min_quorum': 2 };
  leader.voters = ['c1', 'c2', 'c3', 'c4', 'c5'];
  for (const id of ['c4', 'c5']) {
    silent.add(id);
    leader.online.delete(id);
    leader.offlineSince.set(id, clock.wallClockMs());
  }
  clock.advance(59_000);
  t.strictSame(leader.removals, [], 'not before the threshold');
  clock.advance(5_000);
  t.equal(leader.removals.length, 1, 'one removal');
  t.match(leader.removals[0], { id: 'c4', reason: /^autopilot: offline for 1\.\dm, longer than autopilot\.dead_server_threshold 1\.0m/ });
  clock.advance(5_000);
  t.equal(leader.removals.length, 1, 'none more while it is in flight');
  leader.finishRemoval?.();
  await Promise.resolve();
  t.strictSame(events.removed, ['c4']);
  clock.advance(1_000);
  t.strictSame(leader.removals.map((r) => r.id), ['c4', 'c5'], 'then the next');
});

void t.test("a step of the leader's wall clock does not shorten a dead member's wait: removed only once this leader has seen it offline for the threshold", async (t) => {
  const clock = new ManualScheduler();
  const leader = new FakeLeader(clock);
  const silent = new Set<string>();
  const warnings: string[] = [];
  const port = { ...leader.port(silent), logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String((JSON.parse(line) as { msg: string }).msg)) }) };
  new AutopilotDriver(port, clock).start();
  const HOUR = 3_600_000;
  leader.settings = { ...leader.settings, 'autopilot.cleanup_dead_servers': true, 'autopilot.dead_server_threshold': HOUR, 'autopilot.min_quorum': 3 };
  leader.voters = ['c1', 'c2', 'c3', 'c4', 'c5'];
  silent.add('c5');
  leader.online.delete('c5');
  leader.offlineSince.set('c5', clock.wallClockMs());
  clock.advance(7_000);
  clock.stepWallClock(2 * HOUR); // a `date -s` typo on the leader, 7 s after c5 stopped for a restart
  clock.advance(5_000);
  t.strictSame(leader.removals, [], 'offline 12 s: kept, although the wall clock says 2 h');
  t.equal(warnings.filter((w) => /^autopilot: c5 is offline for 2\.0h by the wall clock but this leader has seen it offline for \d+\.\ds .* in \d+\.\dm$/.test(w)).length, 1, 'one warning names the disagreement');
  clock.advance(HOUR - 20_000);
  t.strictSame(leader.removals, [], 'still kept just short of the threshold by the monotonic clock');
  t.equal(warnings.length, 1, 'warned once, not every round');
  clock.advance(20_000);
  t.equal(leader.removals.length, 1, 'removed once this leader has seen it offline for the threshold');
  t.match(leader.removals[0], { id: 'c5', reason: /^autopilot: offline for 1\.0h, longer than autopilot\.dead_server_threshold 1\.0h/ });
});

void t.test('leadership goes to the preferred leader once it is stable and this leader has led long enough', async (t) => {
  const { clock, leader, events } = setup();
  leader.settings = { ...leader.settings, 'cluster.preferred_leader': 'c3', 'autopilot.server_stabilization_time': 2_000 };
  clock.advance(4_500);
  t.strictSame(leader.transfers, [], 'a leader waits out the minimum interval (5 x election timeout) first');
  clock.advance(1_000);
  t.strictSame(leader.transfers, ['c3']);
  t.strictSame(events.transfers, ['c3']);
  clock.advance(4_000);
  t.strictSame(leader.transfers, ['c3'], 'no second attempt within the interval');
  leader.role = 'follower';
  clock.advance(1_000);
  leader.role = 'leader';
  leader.term = 6;
  clock.advance(4_000);
  t.strictSame(leader.transfers, ['c3'], 'a new term starts the wait afresh');
});

void t.test('a leader that has had no round yet judges the preferred leader when asked, not "judged by the leader"', async (t) => {
  const { leader, driver, events } = setup();
  leader.settings = { ...leader.settings, 'cluster.preferred_leader': 'c1' };
  t.same(driver.preferredLeader(), { id: 'c1', note: 'c1 leads' }, 'the leader, preferred, says it leads before its first round');
  leader.settings = { ...leader.settings, 'cluster.preferred_leader': 'c2' };
  t.match(driver.preferredLeader().note, /^c2 is healthy; handing leadership over once it has stayed so for \d+s more$/, 'another member: the rule that holds the hand-off');
  t.same(events.transfers, [], 'asking acts on nothing');
  leader.role = 'follower';
  t.same(driver.preferredLeader().note, 'judged by the leader', 'a follower still defers to the leader');
});

void t.test('right after the preferred leader is set or changed, the note speaks of the new one, not the last round\'s', async (t) => {
  const { clock, leader, driver } = setup();
  clock.advance(1_000);
  t.same(driver.preferredLeader(), { id: null, note: 'no preferred leader is set' }, 'a round judged: none set');
  leader.settings = { ...leader.settings, 'cluster.preferred_leader': 'c1' };
  t.same(driver.preferredLeader(), { id: 'c1', note: 'c1 leads' }, 'set between rounds: judged now');
  clock.advance(1_000);
  leader.settings = { ...leader.settings, 'cluster.preferred_leader': null };
  t.same(driver.preferredLeader(), { id: null, note: 'no preferred leader is set' }, 'unset between rounds: judged now');
});
