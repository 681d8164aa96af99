/**
 * Claims ordered by stream admission (src/statemachine/claim-openings.ts) when the controllers'
 * clocks differ: found by the agents' simulation with skewed clocks (agents-sim.ts `skewMs`, seed
 * 37 at 1000 ms), where a restarted agent on a controller whose clock was behind its old one's was
 * refused as a second live process and kept off for seconds: its claim lost to the old process's
 * record, which its controller did not take offline while the agent was live elsewhere.
 */
import t from 'tap';
import { CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION, type KindCommand } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, settle, svc } from './hub-harness.js';

function stage(version: string): { clock: { now: number }; cs: [SimController, SimController] } {
  const log = new SimLog();
  const clock = { now: 1_700_000_000_000 };
  const cs = ['c1', 'c2'].map((id) => new SimController(id, log, clock)) as [SimController, SimController];
  // Each asks the other which agents it serves before reporting one offline (ask-elsewhere).
  cs[0].elsewhere = () => cs[1].hub.live(clock.now);
  cs[1].elsewhere = () => cs[0].hub.live(clock.now);
  for (const c of cs) c.tick();
  log.propose({ kind: 'cluster', op: 'set-version', version } as KindCommand);
  log.propose(applyCmd(svc('web')));
  settle(cs);
  return { clock, cs };
}

/** The controller's end of a stream whose agent's host went away unnoticed: nothing answers there. */
function silentEnd(id: string): SimAgent {
  const sink = new SimAgent(id);
  sink.answerPings = false;
  sink.autoReply = false;
  return sink;
}

void t.test("a restarted agent is not refused as a second process when its new controller's clock is behind its old one's", async (t) => {
  for (const version of [CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION]) {
    const { clock, cs } = stage(version);
    const [c1, c2] = cs;
    c1.wallOffsetMs = 3000;
    const old = new SimAgent('a1', ['http', 'tcp'], 'old-process');
    old.connect(c1);
    settle(cs);
    t.match(c1.record('a1'), { controller: 'c1', session: old.session, online: true }, `${version}: the first process holds the agent`);
    advance(clock, cs, 500);
    // Its host reboots: c1 hears nothing of the old stream until its heartbeat timeout.
    c1.abandon(old.stream, silentEnd('a1'));
    const fresh = new SimAgent('a1', ['http', 'tcp'], 'new-process');
    fresh.connect(c2);
    settle(cs);
    let heldAt: number | null = null;
    const start = clock.now;
    while (clock.now - start < 10_000 && heldAt === null) {
      advance(clock, cs, 50);
      const rec = c2.record('a1');
      if (rec?.online === true && rec.session === fresh.session) heldAt = clock.now - start;
    }
    t.equal(fresh.closedWith, null, `${version}: the new process is not refused`);
    t.ok(heldAt !== null && heldAt <= 1000, `${version}: its claim holds the agent within 1 s (${heldAt} ms)`);
  }
});
