/**
 * Agent processes another process of the same id took over, as this controller closed their
 * streams, so that their return is refused while the other holds the agent.
 *
 * A newer connection of an agent takes it over: that is how a restart is taken at once. But two
 * live processes with one id (a unit copied to a second host with its --id, a cloned VM) then
 * took it from each other every 5 s for ever (the agent's hold-off after a takeover), each claim
 * publishing its own declaration: measured (attack-operator round 15), a service's port flipped
 * at every takeover, each flip a revision and a push to every other agent, while `ctl list
 * agents` showed one agent, SYNCED. A restarted process never returns with its old boot id (each
 * process draws its own), so a process that comes back after another took it over is a second
 * live process; it is refused while another process holds the agent online, and may take it
 * again once the agent is offline (the other gone for good, or stopped too).
 *
 * Memory only, per controller: the agent reconnects to the controller that closed it (failover.ts
 * keeps its place after a takeover), which is the one that noted it. A controller that did not
 * (a restart, a failover elsewhere) lets it take over once, and notes the other in turn.
 */
import { MAX_OPENED_MS, admittedBeforeHolder, type AgentsView } from '../statemachine/index.js';
import type { Hello } from './protocol.js';

/** Drops the entry inserted first (Sets and Maps iterate in insertion order). */
function dropFirst(c: Set<string> | Map<string, unknown>): void {
  const first = c.keys().next();
  if (first.done !== true) c.delete(first.value);
}

/** Agents remembered at most, the one noted longest ago forgotten first. */
export const MAX_SUPPLANTED_AGENTS = 10_000;
/** Processes remembered for one agent: three live processes with one id need two. */
export const MAX_SUPPLANTED_PER_AGENT = 8;

/** What a record says of the process holding an agent now. */
export interface Holding {
  readonly boot: string;
  readonly online: boolean;
}

export class SupplantedProcesses {
  /** Agent id -> boot ids of its processes another process took over here, oldest first. */
  private readonly byAgent = new Map<string, Set<string>>();
  /** Agent id -> those of its boot ids whose refusal this controller has logged. */
  private readonly logged = new Map<string, Set<string>>();

  constructor(
    private readonly maxAgents = MAX_SUPPLANTED_AGENTS,
    private readonly maxPerAgent = MAX_SUPPLANTED_PER_AGENT,
  ) {}

  get size(): number {
    return this.byAgent.size;
  }

  /** The stream of process `boot` of `agent` was closed for a claim of process `by`. */
  note(agent: string, boot: string, by: string): void {
    // A newer connection of the same process (a failover, a blip) is no other process.
    if (boot === by) return;
    const boots = this.byAgent.get(agent) ?? new Set<string>();
    this.byAgent.delete(agent);
    this.byAgent.set(agent, boots);
    boots.delete(by);
    boots.add(boot);
    if (boots.size > this.maxPerAgent) dropFirst(boots);
    if (this.byAgent.size > this.maxAgents) {
      const first = this.byAgent.keys().next();
      if (first.done !== true) this.forget(first.value);
    }
  }

  /**
   * Whether a refusal of process `boot` of `agent` is the first this controller says (its log
   * names the duplicate once per process, not at every return 5 s apart).
   */
  firstRefusal(agent: string, boot: string): boolean {
    const said = this.logged.get(agent) ?? new Set<string>();
    if (said.has(boot)) return false;
    said.add(boot);
    this.logged.set(agent, said);
    return true;
  }

  private forget(agent: string): void {
    this.byAgent.delete(agent);
    this.logged.delete(agent);
  }

  /**
   * The boot id of the process that holds `agent` online now, when another process took process
   * `boot` over here; null when `boot` may connect. Once the agent is offline, every process
   * may: what was noted of it is dropped.
   */
  holder(agent: string, boot: string, now: Holding | null): string | null {
    const boots = this.byAgent.get(agent);
    if (boots === undefined) return null;
    if (now === null || !now.online) {
      this.forget(agent);
      return null;
    }
    return boots.has(boot) && now.boot !== boot ? now.boot : null;
  }
}

/**
 * The boot id of the process that holds the agent online when the cluster's log says that process
 * replaced `hello`'s (src/statemachine/superseded-boots.ts): every controller knows it, not only
 * the one that closed the stream; null when the log says nothing of `hello`'s process.
 */
export function supersededBy(agents: AgentsView, hello: Pick<Hello, 'agentId' | 'epoch'>): string | null {
  const rec = agents.get(hello.agentId);
  if (rec === null || !rec.online || rec.epoch.boot === hello.epoch.boot) return null;
  return agents.supersededBoot(hello.agentId) === hello.epoch.boot ? rec.epoch.boot : null;
}

/**
 * The boot id of the process that holds the agent online when its stream was admitted after
 * `hello`'s, admitted at `admittedWall` with the transitions up to `admittedSeq` applied
 * (src/statemachine/claim-openings.ts): the log ignores `hello`'s claims while it holds; null
 * when the log says nothing of the order.
 */
export function admittedBefore(agents: AgentsView, hello: Pick<Hello, 'agentId' | 'epoch'>, admittedWall: number | null, admittedSeq: number | null): string | null {
  const rec = agents.get(hello.agentId);
  if (rec === null || !rec.online || rec.epoch.boot === hello.epoch.boot || admittedWall === null) return null;
  const holder = agents.claimOpening(hello.agentId);
  return holder !== null && admittedBeforeHolder(Math.max(0, Math.min(admittedWall, MAX_OPENED_MS)), admittedSeq ?? undefined, holder) ? rec.epoch.boot : null;
}
