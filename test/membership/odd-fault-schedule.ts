/**
 * Fault shapes the random and partial schedules do not try, one at a time: one-way rings and
 * chains, a link or a node that flaps faster than the timeout, short stalls of a node's event
 * loop (a GC pause: 1-5 s, its sockets queueing), a partition whose minority holds the leader,
 * a leader that reaches part of the cluster only one way, and a slow link (messages 0.5-1.5 s
 * late one way, as TCP delivers over a lossy link) while a third node dies. Shared by the status sweep
 * (status-sweep-cli.ts --odd) and the seeded tests that replay what it found.
 */
import type { Rng } from '../../src/util/rng.js';
import type { Sim } from './membership-sim.js';

export type OddFault = 'ring' | 'chain' | 'flap-link' | 'flap-node' | 'stall' | 'minority-leader' | 'leader-one-way' | 'slow-link';
export const ODD_KINDS: readonly OddFault[] = ['ring', 'stall', 'flap-link', 'slow-link', 'minority-leader', 'chain', 'flap-node', 'leader-one-way'];

const shuffle = (xs: readonly string[], rng: Rng): string[] => [...xs].sort(() => rng.next() - 0.5);

/**
 * One odd fault at a time, every 9-15 s, lasting 4-8 s (a stall 1-5 s); the kinds in turn. The
 * slot after a slow link stays quiet: the detectors' timeouts for its ends grew with its round
 * trips (base + 2 x the moving-average RTT, by design), and a fault meanwhile is caught within
 * those timeouts, later than the fixed budget the checker holds every change to.
 */
export function scheduleOddFaults(sim: Sim, rng: Rng, endMs: number, log: string[]): void {
  let turn = rng.int(0, ODD_KINDS.length);
  let quiet = false;
  for (let time = 8000; time < endMs - 12_000; time += 9000 + rng.int(0, 6000)) {
    if (quiet) {
      quiet = false;
      continue;
    }
    const kind = ODD_KINDS[turn++ % ODD_KINDS.length]!;
    quiet = kind === 'slow-link';
    const lasts = 4000 + rng.int(0, 4000);
    sim.at(time, () => {
      const leader = sim.leader;
      const order = shuffle(sim.ids, rng);
      let heal: () => void;
      switch (kind) {
        case 'ring':
        case 'chain': {
          // order[i] no longer reaches order[i + 1] (and the last not the first, in a ring).
          const links = order.map((a, i) => [a, order[(i + 1) % order.length]!] as const).slice(0, kind === 'ring' ? order.length : order.length - 1);
          for (const [a, b] of links) sim.oneWay([a], [b], true);
          log.push(`t=${sim.now} ${kind} ${links.map(([a, b]) => `${a}-/->${b}`).join(' ')}`);
          heal = () => {
            for (const [a, b] of links) sim.oneWay([a], [b], false);
          };
          break;
        }
        case 'flap-link': {
          const [a, b] = [order[0]!, order[1]!];
          const both = rng.next() < 0.5;
          let down = false;
          let on = true;
          const toggle = (): void => {
            if (!on) return;
            down = !down;
            sim.oneWay([a], [b], down);
            if (both) sim.oneWay([b], [a], down);
            sim.at(sim.now + 100 + rng.int(0, 1400), toggle);
          };
          toggle();
          log.push(`t=${sim.now} flap-link ${a}${both ? '<-/->' : '-/->'}${b}`);
          heal = () => {
            on = false;
            if (down) {
              sim.oneWay([a], [b], false);
              if (both) sim.oneWay([b], [a], false);
            }
          };
          break;
        }
        case 'flap-node': {
          const x = order[0]!;
          let down = false;
          let on = true;
          const toggle = (): void => {
            if (!on) return;
            down = !down;
            sim.isolate(x, down);
            sim.at(sim.now + 100 + rng.int(0, 1400), toggle);
          };
          toggle();
          log.push(`t=${sim.now} flap-node ${x}`);
          heal = () => {
            on = false;
            if (down) sim.isolate(x, false);
          };
          break;
        }
        case 'stall': {
          const x = rng.next() < 0.4 ? leader : order[0]!;
          const ms = 1000 + rng.int(0, 4000);
          sim.pause(x);
          log.push(`t=${sim.now} stall ${x} ${ms}ms`);
          sim.at(sim.now + ms, () => {
            sim.resume(x);
            log.push(`t=${sim.now} resume ${x}`);
          });
          heal = () => undefined;
          break;
        }
        case 'minority-leader': {
          const size = 1 + rng.int(0, Math.floor((sim.ids.length - 1) / 2));
          const minority = [leader, ...order.filter((id) => id !== leader)].slice(0, size);
          const majority = sim.ids.filter((id) => !minority.includes(id));
          sim.bridge(minority, majority, true);
          log.push(`t=${sim.now} minority-leader ${minority.join(',')} | ${majority.join(',')}`);
          heal = () => sim.bridge(minority, majority, false);
          break;
        }
        case 'slow-link': {
          // a's messages reach b late; a third member dies meanwhile and restarts at the heal.
          const [a, b, victim] = [order[0]!, order[1]!, order[2]!];
          const extra = 500 + rng.int(0, 1000);
          sim.slow(a, b, extra);
          log.push(`t=${sim.now} slow-link ${a}->${b} +${extra}ms`);
          let killed = false;
          sim.at(sim.now + 1500, () => {
            if (sim.truth(victim) !== 'online' || !sim.viableWith(victim, [])) return;
            killed = true;
            sim.kill(victim);
            log.push(`t=${sim.now} kill ${victim}`);
          });
          heal = () => {
            sim.slow(a, b, 0);
            if (killed) sim.restart(victim);
          };
          break;
        }
        case 'leader-one-way': {
          // The leader's messages reach one half only, and only the other half's reach it.
          const rest = order.filter((id) => id !== leader);
          const half = Math.ceil(rest.length / 2);
          const [deaf, mute] = [rest.slice(0, half), rest.slice(half)];
          sim.oneWay([leader], deaf, true);
          sim.oneWay(mute, [leader], true);
          log.push(`t=${sim.now} leader-one-way ${leader} -/-> ${deaf.join(',')}; ${mute.join(',')} -/-> ${leader}`);
          heal = () => {
            sim.oneWay([leader], deaf, false);
            sim.oneWay(mute, [leader], false);
          };
          break;
        }
      }
      sim.at(sim.now + lasts, () => {
        heal();
        log.push(`t=${sim.now} heal ${kind}`);
      });
    });
  }
}
