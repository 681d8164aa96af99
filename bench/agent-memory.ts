/**
 * `node dist/bench/agent-memory.js [--controller-js FILE] [--agents 1000] [--threads 1] [--out DIR] [--snapshot] [--sampling]`
 *
 * Where a controller's memory per connected agent goes (docs/benchmarks.md, "Memory per agent"):
 * a 3-controller cluster as the agents benchmark starts it, but with a 20 s heartbeat base
 * timeout so that a heap snapshot's pause moves no agent, and every controller preloaded with
 * `mem-probe.js`. At half the agents and at all of them: each controller's settled RSS (as the
 * benchmark reads it), then its heap spaces before and after two forced collections, and with
 * `--snapshot` a heap snapshot (`heap-diff.js` compares two), with `--sampling` the sampling heap
 * profile of what was allocated between the points. Prints per-agent growth, per controller and summed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshClient } from '../src/api/mesh-client.js';
import { ProcessCluster } from '../test/helpers/process-cluster.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { settledRssMB } from './agents.js';
import { Fleet } from './fleet.js';
import { OURS_TIMING } from './ours.js';
import { rssMB } from './proc.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string): boolean => process.argv.includes(name);

const agents = Number(arg('--agents') ?? 1000);
const threads = Number(arg('--threads') ?? 1);
const out = arg('--out') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'agent-memory-'));
const snapshot = flag('--snapshot');
const sampling = flag('--sampling');
const probe = fileURLToPath(new URL('./mem-probe.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

type Reading = Record<string, number>;
interface Probe {
  readonly before: Reading;
  readonly after: Reading;
}

async function probeAll(pids: readonly number[], label: string, samplingStep?: 'start' | 'stop'): Promise<Probe[]> {
  fs.writeFileSync(path.join(out, 'request.json'), JSON.stringify({ label, snapshot, sampling: sampling ? samplingStep : undefined }));
  const results: Probe[] = [];
  // One at a time: a snapshot's pause on one controller should not overlap another's.
  for (const pid of pids) {
    const file = path.join(out, `${pid}-${label}.json`);
    process.kill(pid, 'SIGUSR2');
    await waitFor(() => fs.existsSync(file), `${file} written`, 180_000);
    results.push(JSON.parse(fs.readFileSync(file, 'utf8')) as Probe);
  }
  return results;
}

const FIELDS = ['rss', 'heapUsed', 'external', 'arrayBuffers', 'malloced', 'old_space.used', 'old_space.committed', 'new_space.committed', 'code_space.used', 'large_object_space.used'];

function report(ids: readonly string[], by: Readonly<Record<string, number>>, addrs: readonly string[], rssHalf: readonly number[], rssFull: readonly number[], half: readonly Probe[], full: readonly Probe[], n: number): void {
  const kb = (bytes: number): string => ((bytes / 1024 / n).toFixed(2));
  console.log(`settled RSS (the bench's figure): ${rssHalf.map((x) => x.toFixed(1))} -> ${rssFull.map((x) => x.toFixed(1))} MB: ${(((sum(rssFull) - sum(rssHalf)) * 1024) / n).toFixed(1)} KB per agent`);
  for (const phase of ['before', 'after'] as const) {
    console.log(`-- ${phase === 'before' ? 'as found' : 'after two forced collections'} (KB per agent: ${ids.map((id, i) => `${id} serving ${by[addrs[i]!] ?? 0}`).join(', ')}, sum)`);
    for (const f of FIELDS) {
      const per = ids.map((_, i) => (full[i]![phase][f] ?? 0) - (half[i]![phase][f] ?? 0));
      console.log(`${f.padEnd(24)} ${per.map(kb).join('  ')}  sum ${kb(sum(per))}`);
    }
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  const cluster = await ProcessCluster.create({
    nodes: 3,
    raft: OURS_TIMING,
    heartbeat: { baseTimeout: '20s', stateSyncInterval: '5s' },
    logLevel: 'warn',
    nodeArgs: ['--expose-gc', '--import', probe],
    env: { MEM_PROBE_DIR: out },
    ...(arg('--controller-js') !== undefined ? { controllerJs: arg('--controller-js')! } : {}),
  });
  cluster.startAll();
  const ids = cluster.ids;
  const addrs = ids.map((id) => cluster.addresses.get(id)!);
  const mesh = new MeshClient({ endpoints: addrs, timeoutMs: 10_000 });
  const fleet = new Fleet(threads, { kind: 'ours', endpoints: addrs, seed: 13 });
  try {
    let revision = 0;
    await waitFor(async () => {
      try {
        ({ revision } = await mesh.apply([{ kind: 'service', name: 'bench-web', spec: { protocol: 'http', ports: [1] }, labels: {} }]));
        return true;
      } catch {
        return false;
      }
    }, 'the first apply', 60_000);
    const pids = ids.map((id) => cluster.pid(id)!);
    const synced = async (count: number): Promise<void> => {
      await fleet.waitAllAt(revision, 120_000);
      await waitFor(async () => (await mesh.listAgents()).agents.filter((a) => a.state === 'SYNCED' && a.online).length === count, `${count} agents SYNCED`, 60_000);
      await sleep(3000);
    };
    const half = Math.floor(agents / 2);
    fleet.grow(half);
    await synced(half);
    const rssHalf = await settledRssMB(() => pids.map((p) => rssMB(p) ?? 0));
    const byHalf = (await fleet.stats()).by;
    const probeHalf = await probeAll(pids, 'half', 'start');
    fleet.grow(agents - half);
    await synced(agents);
    const rssFull = await settledRssMB(() => pids.map((p) => rssMB(p) ?? 0));
    const probeFull = await probeAll(pids, 'full', 'stop');
    const by = (await fleet.stats()).by;
    console.log(`agents by controller: ${JSON.stringify(byHalf)} -> ${JSON.stringify(by)}`);
    console.log(`out: ${out}; pids ${ids.map((id, i) => `${id}=${pids[i]}`).join(' ')}`);
    report(ids, by, addrs, rssHalf, rssFull, probeHalf, probeFull, agents - half);
  } finally {
    await fleet.stop();
    mesh.close();
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
