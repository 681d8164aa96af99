/**
 * `list controllers` and `list agents` held to the truth on a real network: controllers and an
 * agent each in a network namespace on one bridge, faults made by nftables drops (black holes,
 * see lab.ts), every controller asked every --sample ms. Root only; not part of `npm test`.
 *
 *   node dist/chaos/netns/netns-cli.js [--nodes 3] [--base 2000] [--hold 12000] [--settle 8000]
 *     [--only isolate-follower,agent-cut] [--action drop|reject] [--repeat N --hold-step MS]
 *     [--json out.json] [--keep-dir]
 *   node dist/chaos/netns/netns-cli.js --cleanup     # removes leftovers of a run that died
 *
 * Phases (one cluster, one after another, each healed and settled before the next):
 *   isolate-follower, isolate-leader   every link of the node dropped, both ways
 *   partial                            the leader and a follower cannot reach each other, both reach the rest
 *   partial-followers                  the followers in two halves that cannot reach each other, the leader reaching both
 *   mute-follower, deaf-follower       everything a follower sends dropped; everything sent to it dropped
 *   asym-leader-out                    what the leader sends a follower is dropped, the reverse is fine
 *   asym-leader-in                     what a follower sends the leader is dropped, the reverse is fine
 *   flap                               the leader <-> follower link down 1.5 x base, up 0.5 x base, 4 times
 *   agent-cut                          the agent <-> its controller, both ways (it can reach the others)
 *   agent-asym-out, agent-asym-in      the agent -> its controller dropped; its controller -> the agent dropped
 *   agent-flap                         the agent <-> its controller down 1.5 x base, up 0.5 x base, 4 times
 *   agent-isolate                      the agent cut off from every controller (truth: offline)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { computeTruth, type NodeCondition } from '../truth.js';
import type { World } from '../status-analysis.js';
import { cleanup, NetnsLab } from './lab.js';
import { LabCluster, sleep } from './lab-cluster.js';
import { reportPhases, type AgentWorld, type PhaseWindow, type PhaseReport } from './netns-report.js';

type Cut = readonly [string, string];

interface Opts {
  nodes: string;
  base: string;
  hold: string;
  settle: string;
  sample: string;
  only?: string;
  json?: string;
  prefix: string;
  subnet: string;
  port: string;
  repeat: string;
  holdStep: string;
  action: string;
  keepDir?: boolean;
  cleanup?: boolean;
}

const PHASES = ['isolate-follower', 'isolate-leader', 'partial', 'partial-followers', 'mute-follower', 'deaf-follower', 'asym-leader-out', 'asym-leader-in', 'flap', 'agent-cut', 'agent-asym-out', 'agent-asym-in', 'agent-flap', 'agent-isolate'] as const;
type PhaseName = (typeof PHASES)[number];

const both = (a: string, b: string): Cut[] => [
  [a, b],
  [b, a],
];
const isolate = (x: string, others: readonly string[]): Cut[] => others.filter((o) => o !== x).flatMap((o) => both(x, o));

async function main(): Promise<void> {
  const o = new Command()
    .option('--nodes <n>', 'controllers (3-5)', '3')
    .option('--base <ms>', 'membership base_timeout', '2000')
    .option('--hold <ms>', 'how long each fault lasts', '12000')
    .option('--settle <ms>', 'how long after each heal before the next phase', '8000')
    .option('--sample <ms>', 'sampling period per controller', '200')
    .option('--only <list>', `phases to run, comma-separated: ${PHASES.join(',')}`)
    .option('--json <file>', 'write the report (and raw samples) here')
    .option('--prefix <p>', 'names of every namespace and interface', 'nsp48')
    .option('--subnet <a.b.c>', 'the /24 inside the namespaces', '10.213.48')
    .option('--port <n>', 'first controller port', '24001')
    .option('--repeat <n>', 'run the phase list this many times', '1')
    .option('--hold-step <ms>', 'each repetition holds its faults this much longer than the one before', '0')
    .option('--action <drop|reject>', 'drop: black holes at the receiver; reject: RST (ICMP) at the sender', 'drop')
    .option('--keep-dir', 'keep the run directory (logs, data)')
    .option('--cleanup', 'remove the namespaces and interfaces of --prefix and exit')
    .parse()
    .opts<Opts>();
  if (o.cleanup === true) {
    cleanup(o.prefix);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('netns-cli needs root (ip netns, nft)');
  const nodes = Number(o.nodes);
  const base = Number(o.base);
  const firstHold = Number(o.hold);
  const holdStep = Number(o.holdStep);
  const repeat = Number(o.repeat);
  const settle = Number(o.settle);
  const graceMs = base + 1000;
  const electionTimeoutMs = 1000;
  // docs/fault-injection.md: an agent's convergence target is its timeout, its grace after a
  // departure and an election timeout, plus a second (a move to another controller is no outage).
  const agentGraceMs = 2 * base + electionTimeoutMs + 1000;
  const only = o.only === undefined ? [...PHASES] : (o.only.split(',') as PhaseName[]);
  for (const p of only) if (!PHASES.includes(p)) throw new Error(`unknown phase ${p}: one of ${PHASES.join(', ')}`);

  const controllers = Array.from({ length: nodes }, (_, i) => `c${i + 1}`);
  const agents = ['a1'];
  const origin = performance.now();
  const now = (): number => performance.now() - origin;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${o.prefix}-run-`));
  if (o.action !== 'drop' && o.action !== 'reject') throw new Error(`--action ${o.action}: drop or reject`);
  const lab = new NetnsLab(o.prefix, o.subnet, o.action);
  const cluster = new LabCluster({ lab, dir, controllers, agents, firstPort: Number(o.port), baseTimeoutMs: base, electionTimeoutMs, sampleIntervalMs: Number(o.sample), now });

  let cuts: Cut[] = [];
  const worlds: World[] = [];
  const agentWorlds: AgentWorld[] = [];
  const record = (cause: string, kind: World['kind']): number => {
    const atMs = now();
    const links = { isCut: (a: string, b: string): boolean => cuts.some(([x, y]) => x === a && y === b) };
    const conditions = new Map<string, NodeCondition>(controllers.map((id) => [id, { running: true, member: true, voter: true }]));
    const truth = computeTruth(conditions, links);
    worlds.push({ atMs, truth, cause, kind });
    // An agent is online while it can reach a majority-side controller both ways; undetermined when only one way.
    const online = new Map<string, boolean | null>(
      agents.map((a) => {
        const side = [...truth.majoritySide];
        if (side.some((c) => !links.isCut(a, c) && !links.isCut(c, a))) return [a, true];
        if (side.some((c) => !links.isCut(a, c) || !links.isCut(c, a))) return [a, null];
        return [a, false];
      }),
    );
    agentWorlds.push({ atMs, online, majoritySide: truth.majoritySide });
    return atMs;
  };
  const setCuts = (next: Cut[], cause: string): number => {
    cuts = next;
    lab.setCuts(cuts);
    return record(cause, 'fault');
  };

  const stopAll = async (): Promise<void> => {
    await cluster.stop().catch((err: Error) => console.error(`stopping: ${err.message}`));
    try {
      lab.destroy();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
    if (o.keepDir !== true) fs.rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  // Stops after the phase under way, then cleans up as at the end (a second signal kills at once;
  // --cleanup then removes what is left).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      interrupted = true;
    });

  const phases: PhaseWindow[] = [];
  try {
    lab.create([...controllers, ...agents]);
    record('start', 'start');
    cluster.start();
    cluster.startSampling();
    await cluster.waitHealthy(30_000, 'start');
    cluster.startAgents();
    await cluster.waitAgentsOnline(30_000);
    console.error(`cluster up in ${dir}: ${controllers.map((c) => `${c}=${cluster.endpoint(c)}`).join(' ')}; pids ${JSON.stringify(cluster.pids())}`);

    const schedule = Array.from({ length: repeat }, (_, round) => only.map((name) => ({ name, hold: firstHold + round * holdStep }))).flat();
    for (const { name, hold } of schedule) {
      if (interrupted) break;
      const leader = cluster.leader();
      if (leader === null) throw new Error(`${name}: no leader agreed on before the phase`);
      const followers = controllers.filter((c) => c !== leader);
      const follower = followers[0]!;
      const others = (x: string): string[] => controllers.filter((c) => c !== x);
      // Two sides that cannot reach each other, the leader reaching both (a bridge).
      const half = Math.ceil(followers.length / 2);
      const sideA = followers.slice(0, half);
      const sideB = followers.slice(half);
      const agentOn = cluster.agentController('a1');
      if (name.startsWith('agent') && agentOn === null) throw new Error(`${name}: the agent is on no controller`);
      const changes: number[] = [];
      const flap = async (cut: Cut[], label: string): Promise<void> => {
        for (let i = 0; i < 4; i++) {
          changes.push(setCuts(cut, `${label} down`));
          await sleep(base * 1.5);
          changes.push(setCuts([], `${label} up`));
          await sleep(base * 0.5);
        }
      };
      const descriptions: Record<PhaseName, string> = {
        'isolate-follower': `${follower} isolated (${o.action})`,
        'isolate-leader': `${leader} (leader) isolated (${o.action})`,
        partial: `${leader} (leader) <-/-> ${follower}, both reach the rest`,
        'partial-followers': `{${sideA.join(',')}} <-/-> {${sideB.join(',')}}, ${leader} (leader) reaches both`,
        'mute-follower': `everything ${follower} sends is dropped (it receives all)`,
        'deaf-follower': `everything sent to ${follower} is dropped (it sends all)`,
        'asym-leader-out': `${leader} (leader) -> ${follower} dropped`,
        'asym-leader-in': `${follower} -> ${leader} (leader) dropped`,
        flap: `${leader} (leader) <-> ${follower} down ${base * 1.5}ms / up ${base * 0.5}ms x4`,
        'agent-cut': `a1 <-/-> ${agentOn} (its controller)`,
        'agent-asym-out': `a1 -> ${agentOn} (its controller) dropped`,
        'agent-asym-in': `${agentOn} (its controller) -> a1 dropped`,
        'agent-flap': `a1 <-> ${agentOn} down ${base * 1.5}ms / up ${base * 0.5}ms x4`,
        'agent-isolate': 'a1 cut off from every controller',
      };
      const startMs = now();
      console.error(`${Math.round(startMs)}ms ${name}: ${descriptions[name]}`);
      switch (name) {
        case 'isolate-follower':
          changes.push(setCuts(isolate(follower, controllers), name));
          await sleep(hold);
          break;
        case 'isolate-leader':
          changes.push(setCuts(isolate(leader, controllers), name));
          await sleep(hold);
          break;
        case 'partial':
          changes.push(setCuts(both(leader, follower), name));
          await sleep(hold);
          break;
        case 'partial-followers':
          changes.push(setCuts(sideA.flatMap((a) => sideB.flatMap((b) => both(a, b))), name));
          await sleep(hold);
          break;
        case 'mute-follower':
          changes.push(setCuts(others(follower).map((o) => [follower, o] as const), name));
          await sleep(hold);
          break;
        case 'deaf-follower':
          changes.push(setCuts(others(follower).map((o) => [o, follower] as const), name));
          await sleep(hold);
          break;
        case 'asym-leader-out':
          changes.push(setCuts([[leader, follower]], name));
          await sleep(hold);
          break;
        case 'asym-leader-in':
          changes.push(setCuts([[follower, leader]], name));
          await sleep(hold);
          break;
        case 'flap':
          await flap(both(leader, follower), name);
          break;
        case 'agent-cut':
          changes.push(setCuts(both('a1', agentOn!), name));
          await sleep(hold);
          break;
        case 'agent-asym-out':
          changes.push(setCuts([['a1', agentOn!]], name));
          await sleep(hold);
          break;
        case 'agent-asym-in':
          changes.push(setCuts([[agentOn!, 'a1']], name));
          await sleep(hold);
          break;
        case 'agent-flap':
          await flap(both('a1', agentOn!), name);
          break;
        case 'agent-isolate':
          changes.push(setCuts(isolate('a1', [...controllers, 'a1']), name));
          await sleep(hold);
          break;
      }
      const healMs = setCuts([], `heal ${name}`);
      changes.push(healMs);
      await sleep(settle);
      await cluster.waitHealthy(30_000, `after ${name}`);
      await cluster.waitAgentsOnline(30_000);
      phases.push({ name, description: `${descriptions[name]}, held ${hold}ms`, startMs, healMs, endMs: now(), cutChanges: changes, ...(name.startsWith('agent') ? { agentOn: agentOn! } : {}) });
    }
  } finally {
    const endMs = now();
    await stopAll();
    const reports = reportPhases(phases, worlds, cluster.statusSampler.samples, agentWorlds, cluster.agentSamples, graceMs, agentGraceMs, 100, endMs);
    printReport(reports, { action: o.action, nodes, base, hold: firstHold, settle, graceMs, agentGraceMs, unexpectedExits: cluster.unexpectedExits });
    if (o.json !== undefined) {
      fs.writeFileSync(o.json, JSON.stringify({ options: { action: o.action, nodes, base, hold: firstHold, holdStep, repeat, settle, graceMs, agentGraceMs }, phases, reports, worlds: worlds.map((w) => ({ atMs: w.atMs, cause: w.cause, online: Object.fromEntries(w.truth.online) })), samples: cluster.statusSampler.samples, agentSamples: cluster.agentSamples.map((s) => ({ ...s, online: Object.fromEntries(s.online), controller: Object.fromEntries(s.controller) })) }, null, 1));
    }
  }
}

function printReport(reports: readonly PhaseReport[], meta: { action: string; nodes: number; base: number; hold: number; settle: number; graceMs: number; agentGraceMs: number; unexpectedExits: readonly string[] }): void {
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  console.log(`netns run (${meta.action}): ${meta.nodes} controllers, base ${meta.base}ms, hold ${meta.hold}ms, settle ${meta.settle}ms, grace ${meta.graceMs}ms (agents ${meta.agentGraceMs}ms)`);
  console.log('phase               | ctl accuracy (n)     | ctl conv p50/max (unconv) | agent accuracy (n)   | agent conv p50/max (unconv) | contradictions | stale');
  for (const r of reports) {
    console.log(
      [
        r.name.padEnd(19),
        `${pct(r.controllers.accuracy)} (${r.controllers.compared})`.padEnd(20),
        `${r.controllerConvergence.ms.p50}/${r.controllerConvergence.ms.max} (${r.controllerConvergence.unconverged})`.padEnd(25),
        `${pct(r.agents.accuracy)} (${r.agents.compared})`.padEnd(20),
        `${r.agentConvergence.ms.p50}/${r.agentConvergence.ms.max} (${r.agentConvergence.unconverged})`.padEnd(27),
        `${r.contradictions.contradicting}/${r.contradictions.pairs}`.padEnd(14),
        `${r.staleAnswers}`,
      ].join(' | '),
    );
  }
  for (const r of reports) {
    console.log(`\n${r.name}: ${r.description}${r.agentOn !== undefined ? ` (agent on ${r.agentOn} before, ${r.agentEndedOn ?? '?'} after)` : ''}`);
    for (const c of r.controllerConvergence.changes) console.log(`  change ${c}`);
    for (const c of r.agentConvergence.changes) console.log(`  agent change ${c}`);
    for (const m of r.controllers.mismatches) console.log(`  ctl mismatch ${m}`);
    for (const m of r.agents.mismatches) console.log(`  agent mismatch ${m}`);
    for (const e of r.contradictions.examples) console.log(`  contradiction ${e}`);
  }
  for (const e of meta.unexpectedExits) console.log(`unexpected exit: ${e}`);
}

main().catch((err: Error) => {
  console.error(`netns-cli: ${err.message}`);
  process.exitCode = 1;
});
