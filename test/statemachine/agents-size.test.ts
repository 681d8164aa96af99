/**
 * The agents kind keeps its snapshot's length as records change (agents.ts, agent-record-json.ts),
 * so controller.quota_bytes counts it without serializing it: 10,000 agents were about 4 MB of JSON
 * every 5 s, 17 ms of a loaded leader's loop per count. Reports are drawn from a seeded generator
 * (seed printed), with strings JSON escapes (quotes, control characters, non-ASCII, a lone surrogate).
 */
import t from 'tap';
import { AgentsStore } from '../../src/statemachine/agents.js';
import { CLAIM_ORDER_VERSION, StateMachine, SUPERSEDED_PROCESS_VERSION, agentsKind, type AgentReportEntry, type AgentSyncFields, type KindCommand } from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { cluster, clusterVersion, run } from './mesh-helpers.js';

const SEED = 47;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)]!;

function text(rng: Rng, max: number): string {
  const n = 1 + Math.floor(rng.next() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.next() < 0.1 ? pick(rng, ['"', '\\', '\n', '\u0001', '\u00e9', '\u2028', '\ud800', '\ud83d\ude00']) : String.fromCharCode(97 + Math.floor(rng.next() * 26));
  return s;
}

const version = (rng: Rng): number | null => (rng.next() < 0.3 ? null : Math.floor(rng.next() * 10 ** Math.floor(rng.next() * 12)));

function sync(rng: Rng): AgentSyncFields {
  return { sentVersion: version(rng), ackedVersion: version(rng), nackedVersion: version(rng), lastError: rng.next() < 0.5 ? null : text(rng, 200), resources: Math.floor(rng.next() * 100_000) };
}

const NAMES = [[], ['http'], ['http', 'tcp'], ['a-1', 'b.2', 'c3']];

/** `opened`: connects say when their stream was admitted (drawn only then, so the other levels draw as they did). */
function entry(rng: Rng, id: string, session: string, opened: boolean): AgentReportEntry {
  const pushes = Math.floor(rng.next() * 1000);
  const r = rng.next();
  if (r < 0.35) {
    const info = { protocols: pick(rng, NAMES), lazy: rng.next() < 0.5, dependencies: pick(rng, NAMES), hosts: pick(rng, NAMES) };
    const at = opened && rng.next() < 0.8 ? { opened: Math.floor(rng.next() * 10 ** Math.floor(rng.next() * 13)) } : {};
    return { op: 'connect', id, session, epoch: { boot: text(rng, 12), seq: Math.floor(rng.next() * 1e6) }, info, sync: sync(rng), timeoutMs: Math.floor(rng.next() * 2 ** 31), pushes, ...at };
  }
  if (r < 0.75) return { op: 'sync', id, session, sync: sync(rng), timeoutMs: Math.floor(rng.next() * 60_000), pushes };
  if (r < 0.9) return { op: 'disconnect', id, session, reason: text(rng, 60), pushes };
  return { op: 'forget', id, session, reason: text(rng, 60) };
}

function storeOf(sm: StateMachine): AgentsStore {
  const store = sm.view(agentsKind);
  if (!(store instanceof AgentsStore)) throw new Error('the agents view is not the store');
  return store;
}

const jsonLength = (store: AgentsStore): number => JSON.stringify(store.snapshot()).length;

for (const level of ['0.2', SUPERSEDED_PROCESS_VERSION, CLAIM_ORDER_VERSION]) {
void t.test(`the agents kind's kept length is its snapshot's, through connects, syncs, disconnects, forgets and a restore, at cluster version ${level} (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED);
  const sm = cluster();
  run(sm, clusterVersion(level));
  const store = storeOf(sm);
  t.equal(store.snapshotLength(), jsonLength(store), 'empty');
  const ids = Array.from({ length: 150 }, (_, i) => `agent-${i}.example`);
  const sessions = ['s1', 's"2', 's\u00e93'];
  let wrong = 0;
  for (let round = 0; round < 120; round++) {
    const chosen = new Set<string>();
    const entries: AgentReportEntry[] = [];
    for (let k = 0; k < 20; k++) {
      const id = pick(rng, ids);
      if (chosen.has(id)) continue;
      chosen.add(id);
      entries.push(entry(rng, id, pick(rng, sessions), level === CLAIM_ORDER_VERSION));
    }
    const r = run(sm, { kind: 'agents', op: 'report', controller: pick(rng, ['c1', 'c-"2"']), entries } as KindCommand);
    if (!r.ok) throw new Error(`report refused: ${r.message}`);
    if (store.snapshotLength() !== jsonLength(store)) wrong++;
  }
  t.equal(wrong, 0, 'the kept length matched the snapshot after every report');
  t.ok(store.size > 50, `records held at the end: ${store.size}`);
  t.equal(store.snapshotLength(), jsonLength(store));

  // From the level, processes a claim of another replaced are remembered (superseded-boots.ts).
  const superseded = store.list().filter((r) => store.supersededBoot(r.id) !== null).length;
  if (level !== '0.2') t.ok(superseded > 10, `agents with a superseded process: ${superseded}`);
  else t.equal(superseded, 0, 'below the level none is remembered, and the snapshot is as 0.8 writes it');
  t.equal('superseded' in (store.snapshot() as object), level !== '0.2');
  // From CLAIM_ORDER_VERSION, when the holding claim's stream was admitted (claim-openings.ts).
  const opened = store.list().filter((r) => store.claimOpened(r.id) !== null).length;
  if (level === CLAIM_ORDER_VERSION) t.ok(opened > 10, `agents with an admission time: ${opened}`);
  else t.equal(opened, 0, 'below it none, and the snapshot is as 0.9 writes it');
  t.equal('opened' in (store.snapshot() as object), level === CLAIM_ORDER_VERSION);

  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.equal(storeOf(restored).snapshotLength(), store.snapshotLength(), 'a restored kind keeps the same length');
  t.same(storeOf(restored).snapshot(), store.snapshot(), 'and the same snapshot');
});
}

void t.test("the state machine's kept size counts the agents, so the quota's measure does not serialize them", async (t) => {
  const sm = cluster();
  const measuredBefore = sm.snapshotLength().measure();
  const keptBefore = sm.snapshotLength().kept;
  const emptyJson = jsonLength(storeOf(sm));
  const info = { protocols: ['http'], lazy: false, dependencies: [], hosts: [] };
  const none: AgentSyncFields = { sentVersion: 1, ackedVersion: 1, nackedVersion: null, lastError: null, resources: 10 };
  for (let b = 0; b < 4; b++) {
    const entries: AgentReportEntry[] = Array.from({ length: 500 }, (_, i) => ({ op: 'connect', id: `agent-${b}-${i}`, session: `s-${i}`, epoch: { boot: 'b', seq: 1 }, info, sync: none, timeoutMs: 2000, pushes: 1 }));
    run(sm, { kind: 'agents', op: 'report', controller: 'c1', entries } as KindCommand);
  }
  const agentsJson = jsonLength(storeOf(sm));
  const { kept, measure } = sm.snapshotLength();
  t.equal(kept - keptBefore, agentsJson - emptyJson, `2,000 agents (${agentsJson} characters of JSON) grew the kept size as much`);
  t.ok(measure() - measuredBefore < 100, `the measured kinds grew by ${measure() - measuredBefore} characters, not by the agents`);
});
