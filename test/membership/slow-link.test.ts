/**
 * A slow link (membership-sim.ts `Sim.slow`): one member's messages reach another 1.5 s late, as
 * TCP delivers over a lossy link what it had to resend, while a third member dies. The slow
 * reporter's last "I hear it" reached the far end after every other detector had timed the dead
 * member out, so that node showed it online 3.6-3.8 s after the kill (budget 3 s), against the
 * other node and the committed state (found with `npm run sim:status -- --odd`). A reporter on a
 * slow link now has no say (status-aggregator.ts, slowLinkReporters).
 */
import t from 'tap';
import { Sim } from './membership-sim.js';

const BUDGET_MS = 3000;

for (const { seed, from, to, victim } of [
  { seed: 5, from: 'c1', to: 'c2', victim: 'c3' },
  { seed: 65, from: 'c3', to: 'c1', victim: 'c2' },
]) {
  void t.test(`3 nodes, base 2000ms: ${from}'s messages reach ${to} 1.5 s late and ${victim} dies; every current answer shows it offline within ${BUDGET_MS} ms (seed ${seed})`, async (t) => {
    const sim = new Sim({ n: 3, seed, baseTimeoutMs: 2000, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
    const slowAt = 15_000;
    const killAt = 20_000;
    sim.at(slowAt, () => sim.slow(from, to, 1500));
    sim.at(killAt, () => sim.kill(victim));
    const wrong: string[] = [];
    let checked = 0;
    let next = 8000;
    sim.runUntil(killAt + 6000, () => {
      while (sim.now >= next) {
        const at = next;
        next += 50;
        // Before the kill, the slow link alone; from the budget on, the dead member.
        if (at >= killAt && at < killAt + BUDGET_MS) continue;
        for (const o of sim.ids) {
          if (o === victim && at >= killAt) continue;
          const rows = sim.rowsAt(o);
          if (rows[0]?.stale !== false) continue;
          for (const r of rows) {
            checked++;
            const truth = sim.truth(r.id) === 'online';
            if (r.online !== truth) wrong.push(`t=${at}: ${o} shows ${r.id} online=${r.online} (${r.basis}), truth ${sim.truth(r.id)}`);
          }
        }
      }
    });
    t.ok(checked > 500, `${checked} current answers checked`);
    t.same(wrong.slice(0, 5), [], `seed ${seed}: no current answer wrong before the kill nor ${BUDGET_MS} ms after it (${wrong.length} wrong)`);
  });
}
