/**
 * Randomized check against a deliberately naive model of the same semantics. Every run
 * prints its seed; a failure replays with that seed.
 */
import t from 'tap';
import { seededRng, type Rng } from '../../src/util/rng.js';
import {
  StateMachine,
  encodeCommand,
  type ApplyResult,
  type ClientTag,
  type KvCommand,
  type MembersCommand,
  type Envelope,
  type MemberStatus,
} from '../../src/statemachine/index.js';

/** The kinds this model covers: kv and members (other kinds have their own tests). */
type ModelCommand = KvCommand | MembersCommand;

interface ModelKey {
  value: Uint8Array;
  create: number;
  mod: number;
  version: number;
}
interface ModelMember {
  id: string;
  address: string;
  role: 'voter' | 'learner';
  status: MemberStatus;
  since: number;
  term: number;
  incarnation: string;
}
/** Only what the model predicts: code, revisions and the status change, not message texts. */
type Outcome = { ok: true; revision: number; changed?: boolean } | { ok: false; code: string; currentRevision?: number };

const MAX_CLIENTS = 4;

class Model {
  revision = 0;
  readonly kv = new Map<string, ModelKey>();
  readonly members = new Map<string, ModelMember>();
  clusterId: string | null = null;
  readonly removed = new Set<string>();
  readonly clients = new Map<string, { seq: number; outcome: Outcome; index: number }>();

  apply(index: number, cmd: Envelope<ModelCommand> | null): Outcome {
    if (cmd === null) return { ok: false, code: 'INVALID' };
    const client = cmd.client;
    if (client !== undefined) {
      const seen = this.clients.get(client.id);
      if (seen !== undefined && client.seq === seen.seq) return seen.outcome;
      if (seen !== undefined && client.seq < seen.seq) return { ok: false, code: 'STALE_REQUEST' };
    }
    const outcome = this.exec(cmd, index);
    if (client !== undefined) {
      this.clients.set(client.id, { seq: client.seq, outcome, index });
      if (this.clients.size > MAX_CLIENTS) {
        const oldest = [...this.clients.entries()].reduce((a, b) => (a[1].index < b[1].index ? a : b));
        this.clients.delete(oldest[0]);
      }
    }
    return outcome;
  }

  private exec(cmd: ModelCommand, index: number): Outcome {
    const next = (): number => ++this.revision;
    if (cmd.kind === 'kv') {
      const cur = this.kv.get(cmd.key);
      if (cmd.op === 'delete' && cur === undefined) return { ok: false, code: 'NOT_FOUND' };
      if (cmd.ifRevision !== undefined && (cur?.mod ?? 0) !== cmd.ifRevision) {
        return { ok: false, code: 'CAS_FAILED', currentRevision: cur?.mod ?? 0 };
      }
      const rev = next();
      if (cmd.op === 'delete') this.kv.delete(cmd.key);
      else this.kv.set(cmd.key, { value: cmd.value, create: cur?.create ?? rev, mod: rev, version: (cur?.version ?? 0) + 1 });
      return { ok: true, revision: rev };
    }
    switch (cmd.op) {
      case 'bootstrap': {
        if (this.members.size > 0) return { ok: false, code: 'CONFLICT' };
        const rev = next();
        for (const m of cmd.members) this.members.set(m.id, { ...m, role: 'voter', status: 'online', since: index, term: 0, incarnation: '' });
        return { ok: true, revision: rev };
      }
      case 'add': {
        if (this.members.has(cmd.id)) return { ok: false, code: 'CONFLICT' };
        const rev = next();
        this.members.set(cmd.id, { id: cmd.id, address: cmd.address, role: 'learner', status: 'offline', since: index, term: 0, incarnation: '' });
        return { ok: true, revision: rev };
      }
      case 'promote': {
        const m = this.members.get(cmd.id);
        if (m === undefined) return { ok: false, code: 'NOT_FOUND' };
        if (m.role === 'voter') return { ok: true, revision: this.revision };
        m.role = 'voter';
        return { ok: true, revision: next() };
      }
      case 'remove': {
        const m = this.members.get(cmd.id);
        if (m === undefined) return { ok: false, code: 'NOT_FOUND' };
        this.members.delete(cmd.id);
        if (m.incarnation !== '') this.removed.add(m.incarnation);
        return { ok: true, revision: next() };
      }
      case 'establish':
        if (this.clusterId !== null) return { ok: false, code: 'CONFLICT' };
        this.clusterId = cmd.clusterId;
        for (const { id, incarnation } of cmd.incarnations) {
          const m = this.members.get(id);
          if (m !== undefined && m.incarnation === '' && !this.removed.has(incarnation)) m.incarnation = incarnation;
        }
        return { ok: true, revision: this.revision };
      case 'recordIncarnation': {
        const m = this.members.get(cmd.id);
        if (m === undefined) return { ok: false, code: 'NOT_FOUND' };
        if (m.incarnation === cmd.incarnation) return { ok: true, revision: this.revision };
        if (m.incarnation !== '' || this.removed.has(cmd.incarnation)) return { ok: false, code: 'CONFLICT' };
        m.incarnation = cmd.incarnation;
        return { ok: true, revision: this.revision };
      }
      case 'setStatus': {
        const m = this.members.get(cmd.id);
        if (m === undefined) return { ok: false, code: 'NOT_FOUND' };
        if (cmd.term < m.term) return { ok: false, code: 'IGNORED' };
        const changed = m.status !== cmd.status;
        // A health record: it never advances the revision; `since` is the entry's index.
        if (!changed && cmd.term === m.term) return { ok: true, revision: this.revision, changed };
        m.term = cmd.term;
        if (changed) {
          m.status = cmd.status;
          m.since = index;
        }
        return { ok: true, revision: this.revision, changed };
      }
    }
  }
}

function outcomeOf(r: ApplyResult): Outcome {
  if (r.ok) {
    const value = r.value as { changed?: boolean } | undefined;
    return value?.changed === undefined ? { ok: true, revision: r.revision } : { ok: true, revision: r.revision, changed: value.changed };
  }
  return r.currentRevision === undefined ? { ok: false, code: r.code } : { ok: false, code: r.code, currentRevision: r.currentRevision };
}

const KEYS = ['a', 'a/1', 'a/2', 'b', 'b/x', 'c'];
const IDS = ['c1', 'c2', 'c3', 'c4', 'c5'];
const INCARNATIONS = ['000000000000000a', '000000000000000b', '000000000000000c'];
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length)]!;

/** A random command, or null for a corrupt entry. Revisions are drawn near the model's so CAS both wins and loses. */
function randomCommand(rng: Rng, model: Model, lastSeq: Map<string, number>): Envelope<ModelCommand> | null {
  const roll = rng.next();
  if (roll < 0.03) return null;
  const key = pick(rng, KEYS);
  const id = pick(rng, IDS);
  const casRoll = rng.next();
  const ifRevision =
    casRoll < 0.5 ? undefined : casRoll < 0.75 ? (model.kv.get(key)?.mod ?? 0) : casRoll < 0.85 ? 0 : rng.int(0, model.revision + 2);
  let cmd: ModelCommand;
  if (roll < 0.45) {
    const value = new TextEncoder().encode(`v${rng.int(0, 1000)}`);
    cmd = ifRevision === undefined ? { kind: 'kv', op: 'put', key, value } : { kind: 'kv', op: 'put', key, value, ifRevision };
  } else if (roll < 0.6) {
    cmd = ifRevision === undefined ? { kind: 'kv', op: 'delete', key } : { kind: 'kv', op: 'delete', key, ifRevision };
  } else if (roll < 0.63) {
    cmd = { kind: 'members', op: 'bootstrap', members: IDS.slice(0, 3).map((m) => ({ id: m, address: `h:${m}` })) };
  } else if (roll < 0.68) {
    cmd = { kind: 'members', op: 'add', id, address: `h:${id}:${rng.int(0, 9)}` };
  } else if (roll < 0.72) {
    cmd = { kind: 'members', op: 'promote', id };
  } else if (roll < 0.75) {
    cmd = { kind: 'members', op: 'remove', id };
  } else if (roll < 0.77) {
    cmd = { kind: 'members', op: 'establish', clusterId: `${rng.int(0, 4)}`.padStart(16, 'a'), incarnations: [{ id, incarnation: pick(rng, INCARNATIONS) }] };
  } else if (roll < 0.81) {
    cmd = { kind: 'members', op: 'recordIncarnation', id, incarnation: pick(rng, INCARNATIONS) };
  } else {
    const status = rng.next() < 0.5 ? 'online' : 'offline';
    cmd = { kind: 'members', op: 'setStatus', id, status, reason: 'r', observedAt: rng.int(0, 1e6), term: rng.int(0, 8) };
  }
  if (rng.next() < 0.5) return cmd;
  const client = `cl${rng.int(0, 6)}`;
  const last = lastSeq.get(client) ?? 0;
  const seqRoll = rng.next();
  // Mostly new requests, some retries of the latest, some stale ones.
  const seq = seqRoll < 0.6 ? last + 1 : seqRoll < 0.85 ? last : Math.max(0, last - rng.int(1, 3));
  lastSeq.set(client, Math.max(last, seq));
  const tag: ClientTag = { id: client, seq };
  return { ...cmd, client: tag };
}

/** The state both sides can be compared on, as plain data. */
function stateOf(sm: StateMachine): unknown {
  return {
    revision: sm.revision(),
    kv: sm.kv.list().items.map((r) => [r.key, r.value, r.createRevision, r.modRevision, r.version]),
    members: sm.members.list().map((m) => [m.id, m.address, m.role, m.status, m.statusSince, m.statusTerm, m.incarnation]),
    clusterId: sm.members.clusterId,
    removed: ['000000000000000a', '000000000000000b', '000000000000000c'].filter((i) => sm.members.wasRemoved(i)),
  };
}

function modelState(model: Model): unknown {
  const byKey = <T>(entries: Iterable<[string, T]>): [string, T][] => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    revision: model.revision,
    kv: byKey(model.kv.entries()).map(([k, r]) => [k, r.value, r.create, r.mod, r.version]),
    members: byKey(model.members.entries()).map(([, m]) => [m.id, m.address, m.role, m.status, m.since, m.term, m.incarnation]),
    clusterId: model.clusterId,
    removed: ['000000000000000a', '000000000000000b', '000000000000000c'].filter((i) => model.removed.has(i)),
  };
}

for (const seed of [1, 7, 42, 1234, 987654]) {
  void t.test(`the state machine agrees with the model (seed ${seed})`, async (t) => {
    const rng = seededRng(seed);
    const model = new Model();
    let sm = new StateMachine({ maxClients: MAX_CLIENTS });
    const twin = new StateMachine({ maxClients: MAX_CLIENTS });
    const lastSeq = new Map<string, number>();
    const got: Outcome[] = [];
    const want: Outcome[] = [];
    const results: ApplyResult[] = [];
    const twinResults: ApplyResult[] = [];
    let index = 0;
    for (let step = 0; step < 3000; step++) {
      index += rng.int(1, 3); // gaps stand for no-op and conf entries
      const cmd = randomCommand(rng, model, lastSeq);
      const data = cmd === null ? new TextEncoder().encode('\u0001{"kind":"kv","op":"put"}') : encodeCommand(cmd);
      want.push(model.apply(index, cmd));
      const result = sm.apply(index, data);
      got.push(outcomeOf(result));
      twinResults.push(twin.apply(index, data));
      results.push(result);
      if (step % 500 === 499) {
        // Install a snapshot mid-run and continue on the restored machine, as a lagging follower would.
        const restored = new StateMachine({ maxClients: MAX_CLIENTS });
        restored.restore(sm.snapshot());
        t.equal(Buffer.compare(restored.snapshot(), sm.snapshot()), 0, `snapshot round-trip at step ${step}`);
        sm = restored;
        t.same(stateOf(sm), modelState(model), `state at step ${step}`);
      }
    }
    t.same(got, want, `every result matches the model (seed ${seed})`);
    t.same(stateOf(sm), modelState(model), 'state at the end');
    t.same(twinResults, results, 'an uninterrupted twin returned the same results');
    t.equal(sm.appliedIndex, index);
    t.equal(Buffer.compare(sm.snapshot(), twin.snapshot()), 0, 'a restored node and an uninterrupted one have identical snapshots');
    const codes = new Set(got.map((o) => (o.ok ? 'OK' : o.code)));
    t.same([...codes].sort(), ['CAS_FAILED', 'CONFLICT', 'IGNORED', 'INVALID', 'NOT_FOUND', 'OK', 'STALE_REQUEST'], 'every outcome was exercised');
  });
}
