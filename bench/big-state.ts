/**
 * `node dist/bench/big-state.js [--build NAME=DIST]... [--mb 70] [--seconds 90] [--rounds 1]`
 *
 * What snapshots of a large state cost a cluster: three controllers hold `--mb` MB of kv (values
 * of 1 MB), then one client overwrites 1 MB values (so a snapshot comes about every state's
 * size of log) while two write small ones, for `--seconds`. It counts the puts that succeeded
 * and failed (by code), their p99 and longest time, the snapshots each member took and the
 * leader terms seen (each new one an election). `--build` names another build's dist directory
 * (as bench/cost.ts), so a change is measured as an A/B of the same workload, builds
 * alternating round by round.
 */
import { Command } from 'commander';
import { ControllerClient } from '../src/api/client.js';
import { alternate, buildsNamed, BUILD_OPTION, type Build } from './ab-builds.js';
import { OursCluster } from './ours.js';
import { round, samplePercentile } from './stats.js';

interface Opts {
  build: string[];
  mb: string;
  seconds: string;
  rounds: string;
}

const program = new Command()
  .name('big-state')
  .description('Elections, refused puts and put latency while a 3-member cluster with a large state takes snapshots; an A/B of builds.')
  .option(...BUILD_OPTION)
  .option('--mb <n>', 'MB of state, in 1 MB values', '70')
  .option('--seconds <n>', 'seconds of writing measured per round', '90')
  .option('--rounds <n>', 'rounds per build', '1')
  .parse();
const opts = program.opts<Opts>();

const builds = buildsNamed(opts.build, import.meta.url, (m) => program.error(m));

interface RoundResult {
  readonly build: string;
  readonly ok: number;
  readonly failed: Record<string, number>;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly snapshots: number;
  readonly leaderTerms: number;
}

const MB = 1_000_000;
const value = (i: number): Buffer => Buffer.alloc(MB, 48 + (i % 10));

async function round1(build: Build): Promise<RoundResult> {
  const ours = await OursCluster.start(3, { controllerJs: build.controllerJs });
  const endpoints = ours.cluster.ids.map((id) => ours.cluster.addresses.get(id)!);
  const clients: ControllerClient[] = [];
  const client = (): ControllerClient => {
    const c = new ControllerClient({ endpoints, timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  try {
    const loader = client();
    for (let i = 0; i < Number(opts.mb); i++) {
      // A put refused while the cluster settles is tried again: the load is not what is measured.
      for (let tries = 0; ; tries++) {
        try {
          await loader.put(`big/${i}`, value(i));
          break;
        } catch (err) {
          if (tries > 20) throw err;
        }
      }
    }
    const watcher = client();
    // Per member: the snapshot index when writing began, and every later one seen.
    const firstSnapshot = new Map<string, number>();
    const taken = new Map<string, Set<number>>();
    const terms = new Set<string>();
    const poll = setInterval(() => {
      for (const e of endpoints) {
        watcher.statusOn(e).then(
          (s) => {
            if (!firstSnapshot.has(e)) firstSnapshot.set(e, s.snapshotIndex);
            if (s.snapshotIndex !== firstSnapshot.get(e)) taken.set(e, (taken.get(e) ?? new Set<number>()).add(s.snapshotIndex));
            if (s.leader !== '') terms.add(`${s.term}:${s.leader}`);
          },
          () => undefined,
        );
      }
    }, 250);
    const end = Date.now() + Number(opts.seconds) * 1000;
    const times: number[] = [];
    const failed: Record<string, number> = {};
    const writer = async (prefix: string, big: boolean): Promise<void> => {
      const c = client();
      for (let i = 0; Date.now() < end; i++) {
        const t = performance.now();
        try {
          await c.put(`${prefix}/${i % 10}`, big ? value(i) : 'x');
          times.push(performance.now() - t);
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          const key = typeof code === 'string' ? code : 'ERROR';
          failed[key] = (failed[key] ?? 0) + 1;
        }
      }
    };
    await Promise.all([writer('churn', true), writer('small-a', false), writer('small-b', false)]);
    clearInterval(poll);
    return {
      build: build.name,
      ok: times.length,
      failed,
      p99Ms: round(samplePercentile(times, 99), 1),
      maxMs: round(Math.max(0, ...times), 1),
      snapshots: [...taken.values()].reduce((n, s) => n + s.size, 0),
      leaderTerms: terms.size,
    };
  } finally {
    for (const c of clients) c.close();
    await ours.stop();
  }
}

const results = await alternate(builds, Number(opts.rounds), `${opts.mb} MB of state, ${opts.seconds} s of writes`, round1);
process.stdout.write('\nbuild  round  puts ok  failed                  p99 ms   max ms  snapshots  leader terms\n');
results.forEach((r, i) => {
  const failed = Object.entries(r.failed).map(([k, v]) => `${k}=${v}`).join(' ') || '0';
  process.stdout.write(`${r.build.padEnd(6)} ${String(Math.floor(i / builds.length) + 1).padStart(5)}  ${String(r.ok).padStart(7)}  ${failed.padEnd(22)} ${String(r.p99Ms).padStart(7)}  ${String(r.maxMs).padStart(7)}  ${String(r.snapshots).padStart(9)}  ${String(r.leaderTerms).padStart(12)}\n`);
});
