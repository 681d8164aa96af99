/**
 * The scenarios and their seeded schedules. A schedule is a list of planned faults: when, for
 * how long, and what. Targets are roles ("the leader", "a follower") plus a random pick, both
 * drawn from the seed; the runner resolves a role against the cluster as it is at that moment
 * (who leads is up to the cluster). So a seed always produces the same plan, and the same
 * run as far as real processes allow.
 *
 * Timing scales with the failure detector: every fault lasts long enough to be detected and
 * reported (several grace windows), and the gaps leave time to recover and re-converge.
 */
import { seededRng, type Rng } from '../src/util/rng.js';

/** Who a fault hits; `pick` in [0, 1) chooses among the candidates at run time. */
export type Role =
  | { readonly role: 'leader' }
  | { readonly role: 'follower'; readonly pick: number }
  | { readonly role: 'any'; readonly pick: number };

export type FaultAction =
  /** Delay on every link, uniform in [minMs, maxMs] per chunk. */
  | { readonly kind: 'jitter'; readonly minMs: number; readonly maxMs: number }
  /** Every link to and from the target cut. */
  | { readonly kind: 'isolate'; readonly target: Role }
  /** kill -9; restarted with its data at the heal. */
  | { readonly kind: 'kill'; readonly target: Role }
  /** SIGSTOP; SIGCONT at the heal. */
  | { readonly kind: 'pause'; readonly target: Role }
  /** A minority side of `size` nodes cut off from the rest (with the leader or without). */
  | { readonly kind: 'partition'; readonly size: number; readonly withLeader: boolean; readonly pick: number }
  /** The target can receive but its messages reach nobody. */
  | { readonly kind: 'cut-out'; readonly target: Role }
  /** The target can send but hears nobody. */
  | { readonly kind: 'cut-in'; readonly target: Role }
  /**
   * A partial partition: the nodes other than the bridge split into two sides that cannot
   * reach each other; the bridge (the leader, or a follower picked by `pick`) reaches both.
   */
  | { readonly kind: 'bridge'; readonly leaderBridge: boolean; readonly pick: number }
  /** One directed link cut. */
  | { readonly kind: 'cut-link'; readonly from: Role; readonly to: Role }
  /** Every link to and from the target capped at `bytesPerSec` (it stays reachable: online). */
  | { readonly kind: 'slow'; readonly target: Role; readonly bytesPerSec: number }
  /** `count` leadership transfers, spread over the fault's duration. */
  | { readonly kind: 'transfer-storm'; readonly count: number; readonly picks: readonly number[] }
  /** `member remove`, wipe its data; at the heal `member add` and start it again with --join. */
  | { readonly kind: 'member-replace'; readonly target: Role };

export type FaultKind = FaultAction['kind'];

export interface PlannedFault {
  readonly atMs: number;
  readonly durationMs: number;
  readonly action: FaultAction;
}

export interface ScheduleParams {
  readonly nodes: number;
  readonly durationMs: number;
  /** The status grace window (base timeout + 1 s): faults last several of these. */
  readonly graceMs: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly defaultNodes: number;
  readonly minNodes: number;
  /**
   * controller.heartbeat.base_timeout unless --base-timeout says otherwise (default 500 ms).
   * Pings go to every peer every base/4, so their cost grows with n^2: 11 nodes at 500 ms needed
   * about a core for pings alone at base/8, more than a 2-core CI machine can spare.
   */
  readonly defaultBaseTimeoutMs?: number;
  /** Agents (chaos/agent-watch.ts) served by the cluster during the run, judged like the controllers. */
  readonly agents?: number;
  /** Agents publishing services (chaos/vip-watch.ts), restarted during the run; VIPs and re-publishes judged. */
  readonly services?: number;
  readonly plan: (rng: Rng, p: ScheduleParams) => PlannedFault[];
}

/** The time unit of a schedule: a fault lasts 2-4 units, a gap 1.5-3. */
function unit(p: ScheduleParams): number {
  return Math.max(1000, p.graceMs);
}

function round(ms: number): number {
  return Math.round(ms / 10) * 10;
}

const follower = (rng: Rng): Role => ({ role: 'follower', pick: rng.next() });
const anyNode = (rng: Rng): Role => ({ role: 'any', pick: rng.next() });
const leader: Role = { role: 'leader' };

/**
 * Back-to-back faults from one generator: start after one unit, last 2-4 units, rest 1.5-3
 * units, and end (healed) at least one unit before the run ends.
 */
function cycle(rng: Rng, p: ScheduleParams, next: (rng: Rng, i: number) => FaultAction, opts: { startMs?: number; minUnits?: number; maxUnits?: number } = {}): PlannedFault[] {
  const u = unit(p);
  const out: PlannedFault[] = [];
  let at = opts.startMs ?? u;
  for (let i = 0; ; i++) {
    const durationMs = round(u * ((opts.minUnits ?? 2) + rng.next() * ((opts.maxUnits ?? 4) - (opts.minUnits ?? 2))));
    if (at + durationMs > p.durationMs - u) break;
    out.push({ atMs: round(at), durationMs, action: next(rng, i) });
    at += durationMs + u * (1.5 + rng.next() * 1.5);
  }
  return out;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'jitter',
    description: '50-200 ms of delay on every link, all run long: no false offline, no lost write',
    defaultNodes: 3,
    minNodes: 3,
    plan: (_rng, p) => {
      const u = unit(p);
      return [{ atMs: round(u / 2), durationMs: Math.max(0, round(p.durationMs - u - u / 2)), action: { kind: 'jitter', minMs: 50, maxMs: 200 } }];
    },
  },
  {
    name: 'isolate-follower',
    description: 'a follower cut off from everyone, healed, again',
    defaultNodes: 3,
    minNodes: 3,
    plan: (rng, p) => cycle(rng, p, (r) => ({ kind: 'isolate', target: follower(r) })),
  },
  {
    name: 'isolate-leader',
    description: 'the leader cut off from everyone, healed, again',
    defaultNodes: 5,
    minNodes: 3,
    plan: (rng, p) => cycle(rng, p, () => ({ kind: 'isolate', target: leader })),
  },
  {
    name: 'kill-leader',
    description: 'kill -9 of the leader, restarted with its data after a while',
    defaultNodes: 3,
    minNodes: 3,
    plan: (rng, p) => cycle(rng, p, () => ({ kind: 'kill', target: leader })),
  },
  {
    name: 'agent-failover',
    description: '60 agents: the controllers serving them killed, isolated or paused (the leader too), agents stopped and started; agent status accuracy and convergence, no re-sends',
    defaultNodes: 3,
    minNodes: 3,
    agents: 60,
    plan: (rng, p) =>
      cycle(rng, p, (r) => {
        const target = r.next() < 1 / 3 ? leader : anyNode(r);
        const k = r.next();
        return k < 0.4 ? { kind: 'kill', target } : k < 0.8 ? { kind: 'isolate', target } : { kind: 'pause', target };
      }),
  },
  {
    name: 'vip-churn',
    description: '24 agents publishing services restarted one after another (identical re-publishes) while the leader is killed and an operator creates and deletes services: no duplicate VIP, no VIP change, no revision from a re-publish',
    defaultNodes: 3,
    minNodes: 3,
    services: 24,
    plan: (rng, p) => cycle(rng, p, () => ({ kind: 'kill', target: leader })),
  },
  {
    name: 'pause-node',
    description: 'SIGSTOP of a node (the leader a third of the time), SIGCONT later',
    defaultNodes: 3,
    minNodes: 3,
    plan: (rng, p) => cycle(rng, p, (r) => ({ kind: 'pause', target: r.next() < 1 / 3 ? leader : follower(r) })),
  },
  {
    name: 'partition-majority',
    description: 'a minority side (with or without the leader) split from the majority',
    defaultNodes: 5,
    minNodes: 3,
    plan: (rng, p) =>
      cycle(rng, p, (r, i) => ({
        kind: 'partition',
        size: Math.floor((p.nodes - 1) / 2),
        withLeader: i % 2 === 0 ? r.next() < 0.75 : r.next() < 0.25,
        pick: r.next(),
      })),
  },
  {
    name: 'bridge',
    description: 'a partial partition: two sides that cannot reach each other, the leader or a follower as the bridge between them (in turn)',
    defaultNodes: 5,
    minNodes: 3,
    plan: (rng, p) => cycle(rng, p, (r, i) => ({ kind: 'bridge', leaderBridge: i % 2 === 0, pick: r.next() })),
  },
  {
    name: 'asymmetric',
    description: 'one-way faults: a node that cannot send, one that cannot receive, single directed links',
    defaultNodes: 5,
    minNodes: 3,
    plan: (rng, p) =>
      cycle(rng, p, (r, i) => {
        switch (i % 4) {
          case 0:
            return { kind: 'cut-out', target: r.next() < 0.5 ? leader : follower(r) };
          case 1:
            return { kind: 'cut-in', target: r.next() < 0.5 ? leader : follower(r) };
          case 2:
            return { kind: 'cut-link', from: leader, to: follower(r) };
          default:
            return { kind: 'cut-link', from: follower(r), to: leader };
        }
      }),
  },
  {
    name: 'large-cluster',
    description: '11 nodes, random overlapping faults of every kind (slow links too) on up to 3 nodes at once, jitter at times',
    defaultNodes: 11,
    minNodes: 5,
    defaultBaseTimeoutMs: 2000,
    plan: (rng, p) => {
      const kinds = ['isolate', 'kill', 'pause', 'cut-out', 'cut-link', 'isolate-leader', 'slow'] as const;
      const track = (start: number): PlannedFault[] =>
        cycle(
          rng,
          p,
          (r) => {
            const k = kinds[r.int(0, kinds.length)]!;
            switch (k) {
              case 'isolate':
                return { kind: 'isolate', target: anyNode(r) };
              case 'kill':
                return { kind: 'kill', target: anyNode(r) };
              case 'pause':
                return { kind: 'pause', target: anyNode(r) };
              case 'cut-out':
                return { kind: 'cut-out', target: follower(r) };
              case 'cut-link':
                return { kind: 'cut-link', from: anyNode(r), to: anyNode(r) };
              case 'isolate-leader':
                return { kind: 'isolate', target: leader };
              case 'slow':
                return { kind: 'slow', target: anyNode(r), bytesPerSec: 64 * 1024 };
              default: {
                const never: never = k;
                return never;
              }
            }
          },
          { startMs: start },
        );
      const u = unit(p);
      const jitter: PlannedFault[] = [];
      // One period of jitter in the middle third of the run.
      const jStart = round(p.durationMs / 3 + rng.next() * u);
      const jLen = round(Math.min(p.durationMs / 3, p.durationMs - u - jStart));
      if (jLen > u) jitter.push({ atMs: jStart, durationMs: jLen, action: { kind: 'jitter', minMs: 50, maxMs: 200 } });
      return [...track(u), ...track(round(u * 1.7)), ...track(round(u * 2.4)), ...jitter].sort((a, b) => a.atMs - b.atMs);
    },
  },
  {
    name: 'membership-churn',
    description: 'followers removed and re-added empty, leadership transfer storms, a node isolated meanwhile',
    defaultNodes: 5,
    minNodes: 4,
    plan: (rng, p) => {
      const u = unit(p);
      const replace = cycle(rng, p, (r) => ({ kind: 'member-replace', target: follower(r) }), { minUnits: 3, maxUnits: 5 });
      // During every replacement: a transfer storm, then an isolated follower (not the one replaced).
      const during: PlannedFault[] = [];
      for (const f of replace) {
        const stormAt = round(f.atMs + u * 0.5);
        during.push({ atMs: stormAt, durationMs: round(u), action: { kind: 'transfer-storm', count: 3, picks: [rng.next(), rng.next(), rng.next()] } });
        const isoAt = round(stormAt + u * 1.5);
        const isoLen = round(Math.min(u * 2, f.atMs + f.durationMs + u - isoAt));
        if (isoLen >= u) during.push({ atMs: isoAt, durationMs: isoLen, action: { kind: 'isolate', target: follower(rng) } });
      }
      return [...replace, ...during].sort((a, b) => a.atMs - b.atMs);
    },
  },
];

export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

export interface Schedule {
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly faults: readonly PlannedFault[];
}

/** The plan for one run: the same arguments always give the same plan. */
export function makeSchedule(scenario: Scenario, seed: number, p: ScheduleParams): Schedule {
  const rng = seededRng(seed ^ hashName(scenario.name));
  return { scenario: scenario.name, seed, nodes: p.nodes, durationMs: p.durationMs, faults: scenario.plan(rng, p) };
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function describeRole(r: Role): string {
  return r.role === 'leader' ? 'leader' : r.role === 'follower' ? 'a follower' : 'a node';
}

export function describeAction(a: FaultAction): string {
  switch (a.kind) {
    case 'jitter':
      return `jitter ${a.minMs}-${a.maxMs}ms on every link`;
    case 'isolate':
    case 'kill':
    case 'pause':
    case 'cut-out':
    case 'cut-in':
    case 'member-replace':
      return `${a.kind} ${describeRole(a.target)}`;
    case 'partition':
      return `partition ${a.size} node(s) ${a.withLeader ? 'with' : 'without'} the leader`;
    case 'bridge':
      return `bridge partition with ${a.leaderBridge ? 'the leader' : 'a follower'} as the bridge`;
    case 'cut-link':
      return `cut ${describeRole(a.from)} -> ${describeRole(a.to)}`;
    case 'slow':
      return `slow ${describeRole(a.target)} to ${Math.round(a.bytesPerSec / 1024)} KB/s`;
    case 'transfer-storm':
      return `${a.count} leader transfers`;
    default: {
      const never: never = a;
      return never;
    }
  }
}
