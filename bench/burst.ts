/**
 * `node dist/bench/burst.js [--build NAME=DIST]... [--first follower|leader] [--puts 64] [--rounds 3]`
 *
 * A burst of large writes (attack round 11 A1): three controllers as shipped, one
 * ControllerClient whose first endpoint is a follower (which forwards every put to the leader)
 * or the leader, `--puts` concurrent puts of 1 MB. It counts the puts acknowledged and the
 * refusals by code and reason (numbers and addresses blanked, so alike reasons add up), their
 * time, and the leader and term before and after. `--build` names another build's dist
 * directory (as bench/big-state.ts), builds alternating round by round.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { ControllerClient } from '../src/api/client.js';
import { alternate, buildsNamed, BUILD_OPTION, type Build } from './ab-builds.js';
import { OursCluster } from './ours.js';
import { round, samplePercentile } from './stats.js';

interface Opts {
  build: string[];
  first: string;
  puts: string;
  rounds: string;
}

const program = new Command()
  .name('burst')
  .description('Concurrent 1 MB puts from one client through a follower or the leader of 3 controllers: acknowledged, refused by reason; an A/B of builds.')
  .option(...BUILD_OPTION)
  .option('--first <which>', 'the client endpoint tried first: follower or leader', 'follower')
  .option('--puts <n>', 'concurrent puts of 1 MB', '64')
  .option('--rounds <n>', 'rounds per build', '3')
  .parse();
const opts = program.opts<Opts>();
if (opts.first !== 'follower' && opts.first !== 'leader') program.error(`--first: expected follower or leader, found ${JSON.stringify(opts.first)}`);

const builds = buildsNamed(opts.build, import.meta.url, (m) => program.error(m));

interface RoundResult {
  readonly build: string;
  readonly load: number;
  readonly ok: number;
  readonly refused: Record<string, number>;
  readonly p50Ms: number;
  readonly maxMs: number;
  readonly leader: string;
  readonly term: string;
}

/** A refusal's code and reason, with what varies from one to the next blanked. */
function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message.split('; tried ')[0]! : String(err);
  const blanked = message.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').replace(/\b[c]\d+\b/g, 'cN').replace(/\d+(\.\d+)?/g, 'N');
  return `${typeof code === 'string' ? code : 'ERROR'}: ${blanked.slice(0, 140)}`;
}

async function burst(build: Build): Promise<RoundResult> {
  const load = round(fs.readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number)[0] ?? 0, 2);
  const ours = await OursCluster.start(3, { controllerJs: build.controllerJs });
  const address = (id: string): string => ours.cluster.addresses.get(id)!;
  let client: ControllerClient | null = null;
  try {
    const leader = await ours.leader();
    const followers = ours.cluster.ids.filter((id) => id !== leader);
    const order = opts.first === 'leader' ? [leader, ...followers] : [followers[0]!, leader, ...followers.slice(1)];
    client = new ControllerClient({ endpoints: order.map(address), timeoutMs: 30_000 });
    // The forwarding link is warm, as in a running cluster; a refusal while it settles is tried again.
    for (let tries = 0; ; tries++) {
      try {
        await client.put('warm', 'x');
        break;
      } catch (err) {
        if (tries > 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const before = await client.statusOn(address(leader));
    const value = Buffer.alloc(1_000_000, 7);
    const times: number[] = [];
    const refused: Record<string, number> = {};
    const c = client;
    await Promise.all(
      Array.from({ length: Number(opts.puts) }, async (_, i) => {
        const t = performance.now();
        try {
          await c.put(`big/${i}`, value);
          times.push(performance.now() - t);
        } catch (err) {
          const key = reasonOf(err);
          refused[key] = (refused[key] ?? 0) + 1;
        }
      }),
    );
    const after = await client.status();
    return {
      build: build.name,
      load,
      ok: times.length,
      refused,
      p50Ms: round(samplePercentile(times, 50), 0),
      maxMs: round(Math.max(0, ...times), 0),
      leader: `${leader} -> ${after.leader}`,
      term: `${before.term} -> ${after.term}`,
    };
  } finally {
    client?.close();
    await ours.stop();
  }
}

const results = await alternate(builds, Number(opts.rounds), `${opts.puts} x 1 MB through the ${opts.first} first`, burst);
process.stdout.write('\nbuild  round  load   ok  refused (by code)          p50 ms   max ms  leader    term\n');
results.forEach((r, i) => {
  const byCode: Record<string, number> = {};
  for (const [reason, n] of Object.entries(r.refused)) byCode[reason.split(':')[0]!] = (byCode[reason.split(':')[0]!] ?? 0) + n;
  const refused = Object.entries(byCode).map(([k, v]) => `${k}=${v}`).join(' ') || '0';
  process.stdout.write(
    `${r.build.padEnd(6)} ${String(Math.floor(i / builds.length) + 1).padStart(5)}  ${String(r.load).padStart(4)}  ${String(r.ok).padStart(3)}  ${refused.padEnd(25)} ${String(r.p50Ms).padStart(7)}  ${String(r.maxMs).padStart(7)}  ${r.leader.padEnd(8)}  ${r.term}\n`,
  );
});
