/**
 * One chaos run: start the cluster behind its proxies, run the workload and the status
 * sampler, carry out the schedule, heal, let the cluster recover, read everything back, check
 * the history and the status answers, and write the report and the timeline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError } from '../src/api/errors.js';
import { ControllerClient } from '../src/api/client.js';
import { seededRng, type Rng } from '../src/util/rng.js';
import { AgentWatch, type AgentAnalysis } from './agent-watch.js';
import { VipWatch, type VipAnalysis } from './vip-watch.js';
import { ChaosCluster } from './chaos-cluster.js';
import { checkableHistory, type OpRecord } from './history.js';
import { NodeProbe } from './node-probe.js';
import type { Delay } from './link-faults.js';
import { checkHistory } from './linearizability.js';
import { judgeLiveness, LIVENESS_BOUND_ELECTION_TIMEOUTS, type AckedWrite, type Heal } from './liveness.js';
import type { ChaosReport, FaultRecord, LostWrite, ProblemKind } from './report.js';
import { describeAction, makeSchedule, type FaultAction, type PlannedFault, type Role, type Scenario } from './scenarios.js';
import { analyzeStatus, percentiles, stateOf, type World } from './status-analysis.js';
import { StatusSampler } from './status-sampler.js';
import { medianPeerTimeoutMs, settleBudgetMs, settledTimeoutMs } from './settle.js';
import { writeTimeline } from './timeline.js';
import { computeTruth, type NodeCondition } from './truth.js';
import { Workload } from './workload.js';

export interface RunOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly baseTimeoutMs: number;
  readonly dynamicAdjustment: boolean;
  /** raft.election_timeout (default 1 s); raft.heartbeat_interval is a tenth of it. */
  readonly electionTimeoutMs?: number;
  readonly clients: number;
  readonly registers: number;
  /** Status answers are excused this long after a change; default base timeout + 1 s. */
  readonly graceMs?: number;
  readonly minAccuracy: number;
  /** Default: the grace window (the convergence target). */
  readonly maxConvergenceP99Ms?: number;
  /** Where the JSON report goes; the timeline goes next to it (.html). */
  readonly reportPath: string;
  /** Keep the cluster's data and logs even when the run passes. */
  readonly keep: boolean;
  readonly logLevel: string;
  /** Progress and events. */
  readonly out: (line: string) => void;
  /** Rewrite one status line in place (a terminal) instead of printing a line every 5 s. */
  readonly tty: boolean;
  /**
   * Corrupt the record on purpose to prove that the checks catch it: one acknowledged write
   * that never happened (a lost write) and the last read of a register turned stale.
   */
  readonly selfTest?: boolean;
}

export interface RunResult {
  readonly report: ChaosReport;
  readonly dir: string;
  readonly kept: boolean;
}

interface Problem {
  readonly kind: ProblemKind;
  readonly text: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Retries `fn` until it succeeds or `deadlineMs` passes; then throws the last error. */
async function retry<T>(fn: () => Promise<T>, deadlineMs: number, pauseMs = 200): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (performance.now() + pauseMs >= deadline) throw err;
      await sleep(pauseMs);
    }
  }
}

/**
 * Like retry, for a membership change: an attempt that timed out may have committed, and then
 * the retry is refused (already a voter, not a member). `done` asks the cluster whether the
 * change is in place.
 */
async function retryChange(fn: () => Promise<unknown>, done: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      if (await done().catch(() => false)) return;
      if (performance.now() + 300 >= deadline) throw err;
      await sleep(300);
    }
  }
}

function errText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

function pick<T>(items: readonly T[], u: number): T | undefined {
  return items.length === 0 ? undefined : items[Math.min(items.length - 1, Math.floor(u * items.length))];
}

interface ActiveFault {
  readonly nodes: ReadonlySet<string>;
  readonly cuts: ReadonlyArray<readonly [string, string]>;
  readonly delays: ReadonlyArray<readonly [string, string, Delay]>;
  readonly rates?: ReadonlyArray<readonly [string, string, number]>;
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const graceMs = o.graceMs ?? o.baseTimeoutMs + 1000;
  const maxP99 = o.maxConvergenceP99Ms ?? graceMs;
  // The product's defaults (config/local-3.yaml): the harness tests what operators run.
  const electionTimeoutMs = o.electionTimeoutMs ?? 1000;
  const raftHeartbeatMs = Math.max(20, Math.round(electionTimeoutMs / 10));
  const snapshotThreshold = 2000;
  const schedule = makeSchedule(o.scenario, o.seed, { nodes: o.nodes, durationMs: o.durationMs, graceMs });
  const rng: Rng = seededRng(o.seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chaos-${o.scenario.name}-`));
  let origin = performance.now();
  const now = (): number => performance.now() - origin;
  const stamp = (): string => `[${(now() / 1000).toFixed(1).padStart(6)}s]`;
  const problems: Problem[] = [];
  const problem = (kind: ProblemKind, text: string): void => {
    problems.push({ kind, text });
  };
  const event = (text: string): void => {
    if (o.tty) process.stdout.write('\r\x1b[K');
    o.out(`${stamp()} ${text}`);
  };

  const cluster = await ChaosCluster.create({
    dir,
    nodes: o.nodes,
    baseTimeoutMs: o.baseTimeoutMs,
    dynamicAdjustment: o.dynamicAdjustment,
    stateSyncIntervalMs: Math.max(1000, o.baseTimeoutMs),
    raftHeartbeatMs,
    electionTimeoutMs,
    snapshotThreshold,
    logLevel: o.logLevel,
    random: () => rng.next(),
    now,
  });
  const ids = cluster.ids;
  const listenAll = ids.map((id) => cluster.listen(id));
  const admin = new ControllerClient({ endpoints: listenAll, timeoutMs: 3000 });
  // Writes of its own after every heal, so liveness is measured even when the workload is busy
  // elsewhere or has stopped (the last heal comes shortly before the end).
  const prober = new ControllerClient({ endpoints: listenAll, timeoutMs: Math.max(1000, electionTimeoutMs) });

  // ---- What the harness has done, and the truth that follows from it. ----
  const cond = new Map<string, NodeCondition>(ids.map((id) => [id, { running: false, member: true, voter: true }]));
  const setCond = (id: string, c: Partial<NodeCondition>): void => {
    cond.set(id, { ...cond.get(id)!, ...c });
  };
  const worlds: World[] = [];
  const truthNow = () => computeTruth(cond, cluster.links);
  /** `atMs` backdates a change the harness learned of late (a node heard before we noticed). */
  const recordWorld = (cause: string, kind: World['kind'] = 'fault', atMs = now()): void => {
    const last = worlds[worlds.length - 1]?.atMs ?? -Infinity;
    worlds.push({ atMs: Math.max(atMs, last), truth: truthNow(), cause, kind });
  };
  const active = new Map<number, ActiveFault>();
  const applyLinks = (): void => {
    const all = [...active.values()];
    cluster.links.replace(
      all.flatMap((f) => f.cuts),
      all.flatMap((f) => f.delays),
      all.flatMap((f) => f.rates ?? []),
    );
  };
  const busy = (): Set<string> => new Set([...active.values()].flatMap((f) => [...f.nodes]));

  // Agents (agent-failover): on the controllers' client addresses, judged against their own truth.
  // An agent gone with its controller is offline after its timeout, its grace and an election
  // timeout (for a claim elsewhere to commit first): about 2 x base + election timeout.
  const agentGraceMs = 2 * o.baseTimeoutMs + (o.electionTimeoutMs ?? 1000) + 1000;
  /** A controller's answers count once it has been on the majority side for a grace window (a node just back holds old news). */
  const heldAt = (id: string, t: number): boolean => {
    let since: number | null = null;
    for (const w of worlds) {
      if (w.atMs > t) break;
      if (!w.truth.majoritySide.has(id)) since = null;
      else since ??= w.atMs;
    }
    return since !== null && t - since >= agentGraceMs;
  };
  const agentWatch =
    o.scenario.agents === undefined
      ? null
      : new AgentWatch({
          count: o.scenario.agents,
          endpoints: new Map(ids.map((id) => [id, cluster.listen(id)])),
          targets: () => ids.filter((id) => cluster.isStarted(id) && !cluster.isPaused(id)),
          heldAt,
          quorumLostWithin: (from, to) => {
            let w: World | undefined;
            for (const x of worlds) {
              if (x.atMs > to) break;
              if (x.atMs <= from) w = x;
              else if (x.truth.majoritySide.size === 0) return true;
            }
            return w !== undefined && w.truth.majoritySide.size === 0;
          },
          now,
          rng: seededRng(o.seed ^ 0x5a5a),
          seed: o.seed,
          graceMs: agentGraceMs,
          event: (text) => event(text),
        });
  let agentResult: AgentAnalysis | null = null;
  // Services (vip-churn): agents publishing what they host, restarted while leaders are killed.
  const vipWatch =
    o.scenario.services === undefined
      ? null
      : new VipWatch({
          count: o.scenario.services,
          endpoints: new Map(ids.map((id) => [id, cluster.listen(id)])),
          targets: () => ids.filter((id) => cluster.isStarted(id) && !cluster.isPaused(id)),
          rng: seededRng(o.seed ^ 0x1414),
          seed: o.seed,
          event: (text) => event(text),
        });
  let vipResult: VipAnalysis | null = null;

  const sampler = new StatusSampler({
    targets: () => ids.filter((id) => cluster.isStarted(id) && !cluster.isPaused(id)),
    endpointOf: (id) => cluster.listen(id),
    intervalMs: o.nodes > 7 ? 200 : 50,
    timeoutMs: Math.max(500, o.baseTimeoutMs),
    now,
  });

  /**
   * Waits until a node started with cluster.start() answers its client API, and resolves with
   * that run time (null if it never does). Until then the node is starting: its peers may
   * hear its first messages before its API serves, or only after it has caught up, so the
   * truth about it is undetermined (see NodeCondition.unsettled) rather than guessed.
   */
  const upAgain = async (id: string, deadlineMs: number): Promise<number | null> => {
    const deadline = performance.now() + deadlineMs;
    const probe = new NodeProbe(cluster.listen(id), 500);
    try {
      while (performance.now() < deadline) {
        try {
          await probe.status();
          return now();
        } catch {
          await sleep(20);
        }
      }
      return null;
    } finally {
      probe.close();
    }
  };
  /** How long after `startedAt` (performance.now()) a peer's proxy first passed on its bytes. */
  const firstBytes = (id: string, startedAt: number): string => {
    const heard = cluster.firstHeard.get(id);
    return heard === undefined ? 'no bytes to peers yet' : `first bytes to a peer after ${Math.round(heard - startedAt)}ms`;
  };

  const majority = (): Set<string> => new Set(truthNow().majoritySide);
  const leaderNow = (): string | null => sampler.leader(majority(), 1000);
  const waitForLeader = async (ms: number): Promise<string | null> => {
    const deadline = performance.now() + ms;
    for (;;) {
      const l = leaderNow();
      if (l !== null && !busy().has(l) && cond.get(l)?.running === true) return l;
      if (performance.now() >= deadline) return null;
      await sleep(50);
    }
  };
  const running = (): string[] => ids.filter((id) => cond.get(id)!.running && cond.get(id)!.member);

  const resolveRole = async (role: Role, exclude: ReadonlySet<string> = new Set()): Promise<string | null> => {
    const taken = new Set([...busy(), ...exclude]);
    if (role.role === 'leader') {
      const l = await waitForLeader(5000);
      return l !== null && !taken.has(l) ? l : null;
    }
    const l = role.role === 'follower' ? await waitForLeader(3000) : null;
    const candidates = running().filter((id) => !taken.has(id) && id !== l && cond.get(id)!.voter && majority().has(id));
    return pick(candidates, role.pick) ?? null;
  };

  const others = (nodes: readonly string[]): string[] => ids.filter((id) => !nodes.includes(id));
  /** The configuration as the leader has it: id -> voter | learner. */
  const membersNow = async (): Promise<Map<string, 'voter' | 'learner'>> => {
    const l = leaderNow();
    let st;
    if (l === null) st = await admin.status();
    else {
      const probe = new NodeProbe(cluster.listen(l), 2000);
      try {
        st = await probe.status();
      } finally {
        probe.close();
      }
    }
    return new Map([...st.voters.map((v): [string, 'voter'] => [v, 'voter']), ...st.learners.map((v): [string, 'learner'] => [v, 'learner'])]);
  };
  const heals: Heal[] = [];
  /** The probes' writes, for the history the checker reads (their keys are read back at the end). */
  const probeRecords: OpRecord[] = [];
  const probes = new Set<Promise<void>>();
  const livenessBoundMs = LIVENESS_BOUND_ELECTION_TIMEOUTS * electionTimeoutMs;
  /** A fault ended: from now on a leader and a write must follow within the bound. */
  const healed = (cause: string): void => {
    const n = heals.length + 1;
    const atMs = now();
    heals.push({ atMs, cause });
    const probe = (async (): Promise<void> => {
      for (let attempt = 1; now() < atMs + livenessBoundMs; attempt++) {
        // A key per attempt: an attempt that timed out may still commit, and must not be confused with the next.
        const key = `liveness/${n}/${attempt}`;
        const value = `heal${n}.${attempt}`;
        const op = { kind: 'put', value } as const;
        const invokeMs = now();
        try {
          const { revision } = await prober.put(key, value);
          probeRecords.push({ client: 'liveness', key, op, invokeMs, returnMs: now(), result: 'ok', outcome: { kind: 'written', revision } });
          workload.ackedUnique.push({ key, value, revision });
          return;
        } catch (err) {
          // It may still commit: open-ended for the checker, as the workload's are.
          probeRecords.push({ client: 'liveness', key, op, invokeMs, returnMs: now(), result: 'failed', outcome: { kind: 'unknown' }, error: err instanceof ApiError ? err.code : 'ERROR' });
          await sleep(100);
        }
      }
    })();
    probes.add(probe);
  };
  const faults: FaultRecord[] = [];
  let faultSeq = 0;
  let stopping = false;
  const currentFaults = new Map<number, string>();

  // ---- The faults. ----
  const runFault = async (f: PlannedFault): Promise<void> => {
    await sleep(f.atMs - now());
    if (stopping) return;
    const a: FaultAction = f.action;
    const id = ++faultSeq;
    const atMs = Math.round(now());
    const skip = (reason: string): void => {
      faults.push({ atMs, kind: a.kind, target: '-', healedAtMs: atMs, skipped: reason });
      event(`skipped ${describeAction(a)}: ${reason}`);
    };
    const untilHeal = (): Promise<void> => sleep(f.atMs + f.durationMs - now());
    const linkFault = async (
      kind: string,
      target: string,
      nodes: string[],
      cuts: Array<[string, string]>,
      delays: Array<[string, string, Delay]> = [],
      rates: Array<[string, string, number]> = [],
    ): Promise<void> => {
      active.set(id, { nodes: new Set(nodes), cuts, delays, rates });
      applyLinks();
      recordWorld(`${kind} ${target}`);
      currentFaults.set(id, `${kind} ${target}`);
      event(`${kind} ${target}`);
      await untilHeal();
      active.delete(id);
      applyLinks();
      recordWorld(`heal ${kind} ${target}`);
      healed(`${kind} ${target}`);
      currentFaults.delete(id);
      faults.push({ atMs, kind, target, healedAtMs: Math.round(now()) });
      event(`healed ${kind} ${target}`);
    };
    const cross = (from: readonly string[], to: readonly string[]): Array<[string, string]> => from.flatMap((x) => to.map((y): [string, string] => [x, y]));

    switch (a.kind) {
      case 'jitter': {
        const d: Delay = { minMs: a.minMs, maxMs: a.maxMs };
        const delays = cross(ids, ids)
          .filter(([x, y]) => x !== y)
          .map(([x, y]): [string, string, Delay] => [x, y, d]);
        await linkFault('jitter', `${a.minMs}-${a.maxMs}ms`, [], [], delays);
        return;
      }
      case 'isolate': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to isolate`);
        await linkFault('isolate', x, [x], [...cross([x], others([x])), ...cross(others([x]), [x])]);
        return;
      }
      case 'cut-out': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to cut`);
        await linkFault('cut-out', x, [x], cross([x], others([x])));
        return;
      }
      case 'cut-in': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to cut`);
        await linkFault('cut-in', x, [x], cross(others([x]), [x]));
        return;
      }
      case 'cut-link': {
        const from = await resolveRole(a.from);
        const to = from === null ? null : await resolveRole(a.to, new Set([from]));
        if (from === null || to === null) return skip('no pair of nodes to cut between');
        await linkFault('cut-link', `${from}->${to}`, [from, to], [[from, to]]);
        return;
      }
      case 'slow': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to slow down`);
        const links = [...cross([x], others([x])), ...cross(others([x]), [x])];
        await linkFault('slow', x, [x], [], [], links.map(([p, q]): [string, string, number] => [p, q, a.bytesPerSec]));
        return;
      }
      case 'partition': {
        const leader = await waitForLeader(5000);
        const local = seededRng(Math.floor(a.pick * 2 ** 31));
        const pool = running().filter((x) => !busy().has(x) && x !== leader);
        const side: string[] = a.withLeader && leader !== null ? [leader] : [];
        while (side.length < a.size && pool.length > 0) side.push(pool.splice(local.int(0, pool.length), 1)[0]!);
        if (side.length < a.size) return skip('not enough free nodes for the minority side');
        side.sort();
        await linkFault('partition', side.join(','), side, [...cross(side, others(side)), ...cross(others(side), side)]);
        return;
      }
      case 'bridge': {
        const leader = await waitForLeader(5000);
        if (leader === null) return skip('no leader to place the bridge by');
        const local = seededRng(Math.floor(a.pick * 2 ** 31));
        const followers = running().filter((x) => x !== leader && !busy().has(x));
        const bridge = a.leaderBridge ? leader : (followers.splice(local.int(0, followers.length), 1)[0] ?? null);
        if (bridge === null) return skip('no follower to be the bridge');
        // The leader stays on side A when a follower bridges; the rest is shuffled into halves.
        const rest = followers.filter((x) => x !== bridge).sort(() => local.next() - 0.5);
        const sideA = a.leaderBridge ? [] : [leader];
        const half = Math.ceil((rest.length + sideA.length) / 2);
        while (sideA.length < half && rest.length > 0) sideA.push(rest.shift()!);
        const sideB = rest;
        if (sideA.length === 0 || sideB.length === 0) return skip('too few nodes for two sides and a bridge');
        sideA.sort();
        sideB.sort();
        await linkFault('bridge', `${bridge} between ${sideA.join(',')} | ${sideB.join(',')}`, [bridge, ...sideA, ...sideB], [...cross(sideA, sideB), ...cross(sideB, sideA)]);
        return;
      }
      case 'kill': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to kill`);
        active.set(id, { nodes: new Set([x]), cuts: [], delays: [] });
        currentFaults.set(id, `kill ${x}`);
        setCond(x, { running: false });
        recordWorld(`kill ${x}`);
        event(`kill -9 ${x}`);
        await cluster.kill(x);
        await untilHeal();
        const healedAtMs = Math.round(now());
        const startedAt = performance.now();
        cluster.start(x);
        setCond(x, { unsettled: true });
        recordWorld(`${x} starting`);
        healed(`restart ${x}`);
        sampler.reset(x);
        const up = await upAgain(x, 30000);
        if (up !== null) {
          setCond(x, { running: true, unsettled: false });
          recordWorld(`${x} restarted`, 'fault', up);
        } else problem('operations', `${x} did not answer within 30 s of its restart`);
        active.delete(id);
        currentFaults.delete(id);
        const detail = `restarted; API answering after ${Math.round(now() - healedAtMs)}ms, ${firstBytes(x, startedAt)}`;
        faults.push({ atMs, kind: 'kill', target: x, healedAtMs, detail });
        event(`${x} ${detail}`);
        return;
      }
      case 'pause': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to pause`);
        active.set(id, { nodes: new Set([x]), cuts: [], delays: [] });
        currentFaults.set(id, `pause ${x}`);
        setCond(x, { running: false });
        recordWorld(`pause ${x}`);
        cluster.pause(x);
        event(`SIGSTOP ${x}`);
        await untilHeal();
        cluster.resume(x);
        setCond(x, { running: true });
        recordWorld(`resume ${x}`);
        healed(`resume ${x}`);
        active.delete(id);
        currentFaults.delete(id);
        faults.push({ atMs, kind: 'pause', target: x, healedAtMs: Math.round(now()) });
        event(`SIGCONT ${x}`);
        return;
      }
      case 'transfer-storm': {
        const hops: string[] = [];
        currentFaults.set(id, 'leader transfers');
        for (let i = 0; i < a.count; i++) {
          await sleep(f.atMs + (i * f.durationMs) / a.count - now());
          const from = leaderNow();
          const candidates = running().filter((x) => x !== from && cond.get(x)!.voter && !busy().has(x) && majority().has(x));
          const to = pick(candidates, a.picks[i] ?? 0);
          if (to === undefined) {
            hops.push('no target');
            continue;
          }
          try {
            const r = await admin.leaderTransfer(to);
            hops.push(`${from ?? '?'}->${r.leader}`);
            event(`leader transfer ${from ?? '?'} -> ${to}: now ${r.leader}`);
          } catch (err) {
            hops.push(`${from ?? '?'}->${to} failed (${err instanceof ApiError ? err.code : 'error'})`);
            event(`leader transfer to ${to} failed: ${errText(err)}`);
          }
        }
        currentFaults.delete(id);
        healed('end of the transfer storm');
        faults.push({ atMs, kind: 'transfer-storm', target: 'leader', healedAtMs: Math.round(now()), detail: hops.join(', ') });
        return;
      }
      case 'member-replace': {
        const x = await resolveRole(a.target);
        if (x === null) return skip(`no ${a.target.role} to replace`);
        active.set(id, { nodes: new Set([x]), cuts: [], delays: [] });
        currentFaults.set(id, `replace ${x}`);
        // Unsettled until the removal is known to have committed (the call returned).
        setCond(x, { unsettled: true });
        recordWorld(`removing ${x}`, 'membership');
        event(`member remove ${x}`);
        try {
          await retryChange(() => admin.memberRemove(x), async () => !(await membersNow()).has(x), 15000);
          setCond(x, { member: false, voter: false, unsettled: false });
          recordWorld(`removed ${x}`, 'membership');
        } catch (err) {
          problem('operations', `member remove ${x} failed for 15 s with a majority up: ${errText(err)}`);
          setCond(x, { unsettled: false });
          recordWorld(`remove ${x} failed`, 'membership');
          active.delete(id);
          currentFaults.delete(id);
          faults.push({ atMs, kind: 'member-replace', target: x, healedAtMs: Math.round(now()), detail: `remove failed: ${errText(err)}` });
          return;
        }
        await cluster.kill(x);
        cluster.wipe(x);
        await untilHeal();
        const healedAtMs = Math.round(now());
        // Unsettled from the add until the new process answers: being added, then starting.
        setCond(x, { member: true, voter: false, running: false, unsettled: true });
        recordWorld(`adding ${x}`, 'membership');
        healed(`re-adding ${x}`);
        event(`member add ${x} --learner, start it with --join`);
        let detail: string;
        try {
          await retryChange(() => admin.memberAdd(x, cluster.address(x), true), async () => (await membersNow()).has(x), 15000);
          cluster.start(x, true);
          sampler.reset(x);
          const up = await upAgain(x, 30000);
          if (up !== null) {
            setCond(x, { running: true, unsettled: false });
            recordWorld(`${x} joined`, 'membership', up);
          } else problem('operations', `${x} did not answer within 30 s of joining`);
          await retryChange(() => admin.memberPromote(x), async () => (await membersNow()).get(x) === 'voter', 30000);
          setCond(x, { voter: true });
          recordWorld(`promote ${x}`, 'membership');
          detail = `re-added empty, voter after ${Math.round(now() - healedAtMs)}ms`;
          event(`${x} promoted to voter`);
        } catch (err) {
          problem('operations', `re-adding ${x} failed: ${errText(err)}`);
          detail = `re-add failed: ${errText(err)}`;
        }
        active.delete(id);
        currentFaults.delete(id);
        faults.push({ atMs, kind: 'member-replace', target: x, healedAtMs, detail });
        return;
      }
      default: {
        const never: never = a;
        return never;
      }
    }
  };

  let report: ChaosReport | null = null;
  const workload = new Workload({
    endpoints: listenAll,
    clients: o.clients,
    registers: Array.from({ length: o.registers }, (_, i) => `r${i}`),
    rng,
    timeoutMs: Math.max(1000, o.baseTimeoutMs),
    thinkMs: 20,
    now,
  });
  let progressTimer: NodeJS.Timeout | null = null;
  let recoveryMs: number | null = null;
  let settle: ChaosReport['settle'] = undefined;
  const lost: LostWrite[] = [];
  let lastProgress = 0;
  let runMs = 0;
  const finals: OpRecord[] = [];
  const loadBefore = os.loadavg()[0] ?? 0;
  try {
    try {
      // ---- Start and warm up: a leader, and every node reporting every node online. ----
      o.out(`chaos ${o.scenario.name}: seed ${o.seed}, ${o.nodes} nodes, ${o.durationMs / 1000}s, base timeout ${o.baseTimeoutMs}ms; run dir ${dir}`);
      o.out(`plan: ${schedule.faults.map((f) => `${(f.atMs / 1000).toFixed(1)}s ${describeAction(f.action)} for ${(f.durationMs / 1000).toFixed(1)}s`).join('; ') || 'no faults'}`);
      for (const id of ids) cluster.start(id);
      const ups = (await Promise.all(ids.map((id) => upAgain(id, 30000)))).map((t) => t !== null);
      ids.forEach((id, i) => {
        if (ups[i]) setCond(id, { running: true });
      });
      if (!ups.every(Boolean)) throw new Error(`nodes did not start: ${ids.filter((_, i) => !ups[i]).join(', ')}\n${cluster.tail(ids[ups.indexOf(false)]!)}`);
      sampler.start();
      // Eleven controllers starting at once on 2 cores took 20-39 s to elect a leader with the
      // harness alone, with or without the peers' connection deadline, and over 60 s twice at
      // load 8-14 in CI: the start-up budget grows with the cluster.
      const warmMs = warmUpBudgetMs(ids.length);
      const warmDeadline = performance.now() + warmMs;
      for (;;) {
        const latest = new Map<string, boolean>();
        for (const s of sampler.samples.slice(-ids.length * 4)) latest.set(s.sampler, s.rows.length === ids.length && s.rows.every((r) => r.online) && s.rows.some((r) => r.leader));
        if (ids.every((id) => latest.get(id) === true)) break;
        if (performance.now() > warmDeadline) {
          if (leaderNow() === null) throw new Error(`no leader within ${warmMs / 1000} s of the start`);
          problem('status', `not every node reported every node online within ${warmMs / 1000} s of the start; running anyway`);
          break;
        }
        await sleep(50);
      }
      if (agentWatch !== null) {
        await agentWatch.start(60000);
        o.out(`${o.scenario.agents} agents online and SYNCED on every controller`);
      }
      if (vipWatch !== null) {
        await vipWatch.start(60000);
        o.out(`${o.scenario.services} agents' services published, every agent SYNCED`);
      }
      // ---- Settle: the detectors' timeouts past the start-up's round trips (settle.ts). ----
      const settleStarted = performance.now();
      const settleBudget = settleBudgetMs(o.baseTimeoutMs);
      const settledAt = settledTimeoutMs(o.baseTimeoutMs);
      let medianTimeout = medianPeerTimeoutMs(sampler.samples, ids);
      const cameUpMedian = medianTimeout;
      while ((medianTimeout === null || medianTimeout > settledAt) && performance.now() - settleStarted < settleBudget) {
        await sleep(100);
        medianTimeout = medianPeerTimeoutMs(sampler.samples, ids);
      }
      settle = { waitedMs: Math.round(performance.now() - settleStarted), cameUpMedianTimeoutMs: cameUpMedian, startMedianTimeoutMs: medianTimeout, settledTimeoutMs: settledAt };
      // ---- The run. ----
      const warmup = now();
      origin = performance.now();
      sampler.clear();
      recordWorld('start', 'start');
      o.out(
        `detectors settled in ${(settle.waitedMs / 1000).toFixed(1)}s: median heartbeat timeout ${settle.cameUpMedianTimeoutMs ?? '?'}ms when the cluster came up, ${settle.startMedianTimeoutMs ?? '?'}ms now (settled at ${settle.settledTimeoutMs}ms)`,
      );
      o.out(`${stamp()} cluster up after ${(warmup / 1000).toFixed(1)}s; workload of ${o.clients} clients on ${o.registers} registers`);
      workload.start();
      agentWatch?.run();
      vipWatch?.run();
      const progress = (): void => {
        const r = workload.records;
        const ok = r.filter((x) => x.result === 'ok').length;
        const failed = r.filter((x) => x.result === 'failed').length;
        const indet = r.filter((x) => x.result === 'indeterminate').length;
        const recent = r.filter((x) => x.returnMs > now() - 1000).length;
        const leader = leaderNow() ?? 'none';
        const line = `${stamp()} leader ${leader} | ops ${ok} ok ${failed} failed ${indet} indet, ${recent}/s | faults: ${[...currentFaults.values()].join(', ') || 'none'}`;
        if (o.tty) process.stdout.write(`\r\x1b[K${line}`);
        else if (now() - lastProgress >= 5000) {
          lastProgress = now();
          o.out(line);
        }
      };
      progressTimer = setInterval(progress, 1000);
      await Promise.all(schedule.faults.map((f) => runFault(f)));
      await sleep(o.durationMs - now());
      stopping = true;
      await workload.stop();
      runMs = now();
      await Promise.all([...probes]);
      // ---- Recovery: every member online in every node's answers. ----
      const lastChange = worlds[worlds.length - 1]!.atMs;
      const recoverDeadline = performance.now() + 30000;
      for (;;) {
        const truth = truthNow();
        const members = [...truth.online.keys()];
        const fresh = new Map<string, boolean>();
        for (const s of sampler.samples) {
          if (s.sentMs < lastChange) continue;
          fresh.set(s.sampler, members.every((m) => s.rows.find((r) => r.id === m)?.online === true) && s.rows.length === members.length && s.rows.some((r) => r.leader));
        }
        if (members.every((m) => fresh.get(m) === true) && [...truth.online.values()].every(Boolean)) {
          // From the last heal to the first answer, per node, that showed everything well.
          let latest = lastChange;
          for (const m of members) {
            const first = sampler.samples.find(
              (s) => s.sampler === m && s.sentMs >= lastChange && s.rows.length === members.length && s.rows.every((r) => r.online) && s.rows.some((r) => r.leader),
            );
            latest = Math.max(latest, first?.receivedMs ?? now());
          }
          recoveryMs = Math.round(latest - lastChange);
          break;
        }
        if (performance.now() > recoverDeadline) {
          problem('status', `the cluster did not recover within 30 s of the last heal (every member online on every node, with a leader)`);
          break;
        }
        await sleep(50);
      }
      if (o.tty) process.stdout.write('\r\x1b[K');
      if (agentWatch !== null) agentResult = await agentWatch.finish(30000);
      if (vipWatch !== null) vipResult = await vipWatch.finish(30000);
      // ---- Read everything back (linearizable reads, retried until they succeed). ----
      /** null: the key does not exist; undefined: no read succeeded (a liveness problem, not a lost write). */
      const readBack = async (key: string): Promise<{ value: string; revision: number } | null | undefined> => {
        const invokeMs = now();
        try {
          const kv = await retry(async () => {
            try {
              return await admin.get(key);
            } catch (err) {
              if (err instanceof ApiError && err.code === 'NOT_FOUND') return null;
              throw err;
            }
          }, 20000);
          const returnMs = now();
          const got = kv === null ? null : { value: Buffer.from(kv.value).toString('utf8'), revision: kv.revision };
          finals.push({
            client: 'final',
            key,
            op: { kind: 'get' },
            invokeMs,
            returnMs,
            result: 'ok',
            outcome: got === null ? { kind: 'read', found: false } : { kind: 'read', found: true, value: got.value, revision: got.revision },
          });
          return got;
        } catch (err) {
          problem('liveness', `final read of ${key} failed for 20 s: ${errText(err)}`);
          return undefined;
        }
      };
      const registers = [...new Set(workload.records.filter((r) => r.key.startsWith('r')).map((r) => r.key))].sort();
      const finalRegs = new Map<string, { value: string; revision: number } | null | undefined>();
      for (const key of registers) finalRegs.set(key, await readBack(key));
      for (const r of workload.records) {
        if (!r.key.startsWith('r') || r.outcome?.kind !== 'written' || r.op.kind === 'get') continue;
        const fin = finalRegs.get(r.key);
        const rev = r.outcome.revision;
        if (fin === undefined) continue;
        if (fin === null || fin.revision < rev || (fin.revision === rev && fin.value !== r.op.value)) {
          lost.push({ key: r.key, value: r.op.value, revision: rev, found: fin === null ? 'nothing' : `${fin.value}@${fin.revision}` });
        }
      }
      if (o.selfTest === true) workload.ackedUnique.push({ key: 'u/self-test/lost', value: 'self-test.lost', revision: 1 });
      const queue = [...workload.ackedUnique];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let u = queue.shift(); u !== undefined; u = queue.shift()) {
            const got = await readBack(u.key);
            if (got === undefined) continue;
            if (got === null || got.value !== u.value || got.revision !== u.revision) {
              lost.push({ key: u.key, value: u.value, revision: u.revision, found: got === null ? 'nothing' : `${got.value}@${got.revision}` });
            }
          }
        }),
      );
    } catch (err) {
      // Whatever broke the run (a cluster that never came up, a harness error) is the verdict.
      problem('liveness', `the run was cut short: ${err instanceof Error ? err.message : String(err)}`);
      stopping = true;
      await workload.stop().catch(() => undefined);
      if (runMs === 0) runMs = Math.max(0, now());
    }
    await sampler.stop();
    await agentWatch?.stop();
    await vipWatch?.stop();
    const endMs = now();

    // ---- Judge. ----
    if (o.selfTest === true) {
      // The final read of a register comes after every write; make it return the oldest value.
      const last = finals.find((f) => f.key.startsWith('r') && f.outcome?.kind === 'read' && f.outcome.found);
      const oldest = workload.records.find((r) => r.key === last?.key && r.outcome?.kind === 'written' && r.op.kind !== 'get');
      if (last !== undefined && oldest !== undefined && oldest.op.kind !== 'get' && oldest.outcome?.kind === 'written') {
        const stale: OpRecord = { ...last, outcome: { kind: 'read', found: true, value: oldest.op.value, revision: oldest.outcome.revision } };
        finals.splice(finals.indexOf(last), 1, stale);
      }
    }
    const records = [...workload.records, ...probeRecords, ...finals];
    const history = checkableHistory(records);
    const checkStarted = performance.now();
    const lin = checkHistory(history);
    const checkMs = Math.round(performance.now() - checkStarted);
    const status = analyzeStatus(worlds, sampler.samples, graceMs, endMs);
    const work = workload.records;
    const count = (res: OpRecord['result']): number => work.filter((r) => r.result === res).length;
    const latencies = work.filter((r) => r.result === 'ok').map((r) => r.returnMs - r.invokeMs);

    if (lin.linearizable === false) {
      for (const k of lin.keys.filter((k) => k.linearizable === false)) problem('safety', `key ${k.key} is not linearizable:\n${k.explanation ?? ''}`);
      for (const an of lin.anomalies) problem('safety', `key ${an.key}: ${an.reason}: ${an.ops.join(' | ')}`);
    } else if (lin.linearizable === 'unknown') problem('safety', 'the linearizability search ran out of budget: the history is unverified');
    if (lost.length > 0) problem('safety', `${lost.length} acknowledged writes are missing at the end, e.g. ${lost.slice(0, 3).map((l) => `${l.key}=${l.value}@${l.revision} (found ${l.found})`).join(', ')}`);
    if (status.accuracy < o.minAccuracy) {
      const eg = status.mismatches.slice(0, 3).map((m) => `${(m.atMs / 1000).toFixed(1)}s ${m.sampler} says ${m.subject} ${m.reported}, truth ${m.expected}`);
      problem('status', `status accuracy ${(status.accuracy * 100).toFixed(3)}% is below ${(o.minAccuracy * 100).toFixed(1)}% (${status.mismatchCount} wrong answers; e.g. ${eg.join('; ')})`);
    }
    for (const [node, n] of Object.entries(status.accuracyByNode)) {
      if (n.accuracy < o.minAccuracy) problem('status', `${node}'s answers: status accuracy ${(n.accuracy * 100).toFixed(3)}% of ${n.compared} is below ${(o.minAccuracy * 100).toFixed(1)}%`);
    }
    if (status.convergenceMs.p99 > maxP99) problem('status', `status convergence p99 ${status.convergenceMs.p99}ms exceeds ${maxP99}ms`);
    if (status.unconverged > 0) {
      const eg = status.changes.filter((c) => c.convergedMs === null && c.superseded !== true).slice(0, 3).map((c) => `${c.subject} ${c.to} at ${(c.atMs / 1000).toFixed(1)}s (${c.cause})`);
      problem('status', `${status.unconverged} status changes never reached every majority-side node: ${eg.join(', ')}`);
    }
    for (const e of cluster.unexpectedExits) problem('crash', `${e.id} exited on its own at ${(e.atMs / 1000).toFixed(1)}s (code ${String(e.code)}, signal ${String(e.signal)}):\n${cluster.tail(e.id, 15)}`);
    const proxyStats = [...cluster.proxies.values()].map((p) => p.stats);
    const unidentified = proxyStats.reduce((s, p) => s + p.unidentifiedActive, 0);
    if (unidentified > 0) problem('harness', `harness: ${unidentified} peer connections could not be attributed to a node (their faults were not applied)`);
    if (count('ok') === 0) problem('liveness', 'no operation succeeded: the workload proves nothing');
    const acked: AckedWrite[] = [...work, ...probeRecords].filter((r) => r.outcome?.kind === 'written');
    const liveness = judgeLiveness(heals, sampler.samples, worlds, acked, electionTimeoutMs);
    for (const text of liveness.problems) problem('liveness', text);

    if (agentResult !== null) {
      const a = agentResult;
      if (a.statusAccuracy < o.minAccuracy) problem('status', `agent status accuracy ${(a.statusAccuracy * 100).toFixed(3)}% is below ${(o.minAccuracy * 100).toFixed(1)}% (e.g. ${a.mismatches.slice(0, 3).map((m) => `${(m.atMs / 1000).toFixed(1)}s ${m.sampler} says ${m.agent} ${m.reported}, truth ${m.expected}`).join('; ')})`);
      if (a.convergenceMs.p99 > agentGraceMs) problem('status', `agent status convergence p99 ${a.convergenceMs.p99}ms exceeds ${agentGraceMs}ms`);
      if (a.unconverged > 0) problem('status', `${a.unconverged} agent status changes never reached every controller`);
      if (a.falseOffline > 0) problem('status', `${a.falseOffline} running agents were shown offline (a move to another controller must not be an outage)`);
      if (a.redundantPushes > 0) problem('status', `${a.redundantPushes} pushes (${a.redundantBytes} bytes) sent agents a version they already held`);
      if (a.notSyncedAtEnd > 0) problem('liveness', `${a.notSyncedAtEnd} agents were not online and SYNCED on every controller 30 s after the end`);
    }
    if (vipResult !== null) {
      const v = vipResult;
      const eg = v.examples.length > 0 ? ` (e.g. ${v.examples.slice(0, 3).join('; ')})` : '';
      if (v.duplicateVips > 0) problem('safety', `${v.duplicateVips} VIPs were held by two services at once${eg}`);
      if (v.vipChanges > 0) problem('safety', `${v.vipChanges} live services changed VIP${eg}`);
      if (v.vipReused > 0) problem('safety', `${v.vipReused} VIPs were handed to another service within their quarantine${eg}`);
      if (v.publishRevisions !== 0) problem('safety', `identical re-publishes advanced the cluster revision ${v.publishRevisions} times (${v.publishWrites} of ${v.republishes} reached the log)`);
      if (!v.settledAtEnd) problem('liveness', "the agents' services were not all published and every agent SYNCED 30 s after the end");
    }
    const cpus = os.cpus();
    const built: ChaosReport = {
      scenario: o.scenario.name,
      seed: o.seed,
      nodes: o.nodes,
      durationMs: Math.round(runMs),
      ops: { ok: count('ok'), failed: count('failed'), indeterminate: count('indeterminate') },
      lostWrites: lost.length,
      linearizable: lin.linearizable === true,
      statusAccuracy: Number(status.accuracy.toFixed(6)),
      convergenceMs: status.convergenceMs,
      faults: [...faults].sort((x, y) => x.atMs - y.atMs),
      verdict: { ok: problems.length === 0, problems: problems.map((p) => p.text), kinds: problems.map((p) => p.kind) },
      liveness: { boundMs: liveness.boundMs, boundElectionTimeouts: LIVENESS_BOUND_ELECTION_TIMEOUTS, heals: liveness.heals },
      replay:
        `npm run chaos -- --scenario ${o.scenario.name} --seed ${o.seed} --nodes ${o.nodes} --duration ${Math.round(o.durationMs / 1000)}s --base-timeout ${o.baseTimeoutMs}ms` +
        (electionTimeoutMs !== 1000 ? ` --election-timeout ${electionTimeoutMs}ms` : '') +
        (o.dynamicAdjustment ? '' : ' --no-dynamic-adjustment'),
      config: {
        baseTimeoutMs: o.baseTimeoutMs,
        dynamicAdjustment: o.dynamicAdjustment,
        graceMs,
        electionTimeoutMs,
        raftHeartbeatMs,
        snapshotThreshold,
        clients: o.clients,
        registers: o.registers,
        minAccuracy: o.minAccuracy,
        maxConvergenceP99Ms: maxP99,
      },
      linearizability: { result: lin.linearizable, checkedOps: history.length, ms: checkMs, keys: lin.keys.filter((k) => k.key.startsWith('r') || k.linearizable !== true), anomalies: lin.anomalies },
      status: {
        compared: status.compared,
        excluded: status.excluded,
        mismatchCount: status.mismatchCount,
        mismatches: status.mismatches.slice(0, 30),
        changes: status.changes,
        membershipConvergenceMs: status.membershipConvergenceMs,
        unconverged: status.unconverged,
        samplerFailures: sampler.failures,
        accuracyByNode: status.accuracyByNode,
        staleAnswers: status.staleAnswers,
      },
      lost: lost.slice(0, 30),
      opsPerSec: work.length / Math.max(1, runMs / 1000),
      latencyMs: percentiles(latencies),
      recoveryMs,
      ...(settle !== undefined ? { settle } : {}),
      unexpectedExits: cluster.unexpectedExits,
      proxies: {
        connections: proxyStats.reduce((s, p) => s + p.connections, 0),
        unidentified: proxyStats.reduce((s, p) => s + p.unidentified, 0),
        unidentifiedActive: unidentified,
        bytesDropped: proxyStats.reduce((s, p) => s + p.bytesDropped, 0),
        closedOnHeal: proxyStats.reduce((s, p) => s + p.closedOnHeal, 0),
      },
      machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, loadBefore, loadAfter: os.loadavg()[0] ?? 0 },
      timeline: null,
      ...(agentResult !== null ? { agents: { ...agentResult, graceMs: agentGraceMs } } : {}),
      ...(vipResult !== null ? { vips: vipResult } : {}),
    };
    const timelinePath = o.reportPath.replace(/\.json$/i, '') + '.html';
    writeTimeline(timelinePath, { report: built, worlds, samples: sampler.samples, records: work, endMs, stateOf });
    const final: ChaosReport = { ...built, timeline: timelinePath };
    report = final;
    if (!final.verdict.ok || o.keep) {
      // Keep the raw material next to the cluster's logs for a closer look.
      const dump = {
        origin: { performanceNow: origin, epochMs: Date.now() - now() },
        records,
        worlds: worlds.map((w) => ({ atMs: w.atMs, cause: w.cause, online: [...w.truth.online], majoritySide: [...w.truth.majoritySide] })),
        samples: sampler.samples,
      };
      fs.writeFileSync(path.join(dir, 'history.json'), JSON.stringify(dump));
      if (agentWatch !== null) fs.writeFileSync(path.join(dir, 'agent-samples.json'), JSON.stringify(agentWatch.samples.map((x) => ({ ...x, online: Object.fromEntries(x.online) }))));
    }
    fs.writeFileSync(o.reportPath, JSON.stringify(final, null, 2) + '\n');
    return { report: final, dir, kept: o.keep || !final.verdict.ok };
  } finally {
    stopping = true;
    if (progressTimer !== null) clearInterval(progressTimer);
    await workload.stop().catch(() => undefined);
    await sampler.stop().catch(() => undefined);
    await Promise.all([...probes]);
    admin.close();
    prober.close();
    await cluster.stop();
    if (report !== null && report.verdict.ok && !o.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** How long a cluster of `nodes` may take to elect a leader and see itself online: 60 s up to 5 nodes, 10 s more for each beyond. */
export function warmUpBudgetMs(nodes: number): number {
  return 60_000 + Math.max(0, nodes - 5) * 10_000;
}
