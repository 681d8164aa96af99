/**
 * The partial partitions of the membership simulations: bridges (two sides that cannot hear each
 * other, one node hearing both; the leader as the bridge, and a follower) and one-way cuts (a node
 * nobody hears, a node that hears nobody, a group whose messages do not reach the rest), one at a
 * time. Shared by partial-partitions.test.ts and the status sweep (status-sweep-cli.ts).
 */
import type { Rng } from '../../src/util/rng.js';
import type { Sim } from './membership-sim.js';

export type PartialFault = 'bridge-leader' | 'bridge-follower' | 'one-way-in' | 'one-way-out' | 'one-way-group';
export const PARTIAL_KINDS: readonly PartialFault[] = ['bridge-leader', 'one-way-in', 'bridge-follower', 'one-way-out', 'one-way-group'];

/** One partial partition at a time, every 9-15 s, lasting 5-9 s; the kinds in turn. */
export function schedulePartitions(sim: Sim, rng: Rng, endMs: number, log: string[]): void {
  let turn = 0;
  for (let time = 8000; time < endMs - 12_000; time += 9000 + rng.int(0, 6000)) {
    const kind = PARTIAL_KINDS[turn++ % PARTIAL_KINDS.length]!;
    const lasts = 5000 + rng.int(0, 4000);
    sim.at(time, () => {
      const leader = sim.leader;
      const followers = sim.ids.filter((id) => id !== leader);
      const shuffled = [...followers].sort(() => rng.next() - 0.5);
      let heal: () => void;
      switch (kind) {
        case 'bridge-leader': {
          const half = Math.ceil(shuffled.length / 2);
          const [a, b] = [shuffled.slice(0, half), shuffled.slice(half)];
          sim.bridge(a, b, true);
          log.push(`t=${sim.now} bridge-leader ${leader}: ${a.join(',')} | ${b.join(',')}`);
          heal = () => sim.bridge(a, b, false);
          break;
        }
        case 'bridge-follower': {
          const bridge = shuffled[0]!;
          const rest = [leader, ...shuffled.slice(1)];
          const half = Math.ceil(rest.length / 2);
          const [a, b] = [rest.slice(0, half), rest.slice(half)];
          sim.bridge(a, b, true);
          log.push(`t=${sim.now} bridge-follower ${bridge}: ${a.join(',')} | ${b.join(',')}`);
          heal = () => sim.bridge(a, b, false);
          break;
        }
        case 'one-way-in': {
          const x = shuffled[0]!;
          sim.oneWay(sim.ids, [x], true);
          log.push(`t=${sim.now} one-way-in ${x} (hears nobody)`);
          heal = () => sim.oneWay(sim.ids, [x], false);
          break;
        }
        case 'one-way-out': {
          const x = shuffled[0]!;
          sim.oneWay([x], sim.ids, true);
          log.push(`t=${sim.now} one-way-out ${x} (nobody hears it)`);
          heal = () => sim.oneWay([x], sim.ids, false);
          break;
        }
        case 'one-way-group': {
          const size = Math.floor((sim.ids.length - 1) / 2);
          const group = [...sim.ids].sort(() => rng.next() - 0.5).slice(0, size);
          const rest = sim.ids.filter((id) => !group.includes(id));
          sim.oneWay(group, rest, true);
          log.push(`t=${sim.now} one-way-group ${group.join(',')} -/-> ${rest.join(',')}`);
          heal = () => sim.oneWay(group, rest, false);
          break;
        }
      }
      sim.at(sim.now + lasts, () => {
        heal();
        log.push(`t=${sim.now} heal`);
      });
    });
  }
}
