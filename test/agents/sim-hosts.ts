/**
 * Agents that host services, for the agents' simulation (agents-sim.ts): in one seed in four
 * the cluster runs at the newest level, REFUSALS_ONCE_VERSION (the mesh's rules of LISTER_SHARE_VERSION and after; or is raised to
 * it while the faults run, so endpoints from before SERVICE_OWNERSHIP_VERSION meet the new rules), agents publish services from a small catalog
 * (mostly one spec per name, now and then a conflicting one), an operator applies some of those
 * names (with or without the mesh/allowed-agents label, the same spec or another), deletes them,
 * names them in routes, agents change what they host and restart, and the leader moves now and
 * then; now and then the operator turns services.agent_publish to declared or back to open (a
 * set refused below DECLARED_PUBLISH_VERSION). The grace before an unlisted service expires is short and the VIP range small, so
 * expiries, quarantines and reuse of addresses all happen within a seed.
 *
 * Whether a seed hosts, and everything drawn here, comes from a randomness of its own: the other
 * seeds run the schedule they always ran.
 */
import {
  ALLOWED_AGENTS_LABEL,
  FORGET_AGENTS_VERSION,
  REFUSALS_ONCE_VERSION,
  type HostedService,
  type KindCommand,
  type ResourceInput,
} from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { initSettings, setSetting } from '../statemachine/mesh-helpers.js';

/** The leader's grace before an unlisted service expires (production: 10 min), short for the simulation. */
export const HOSTING_GRACE_MS = 3_000;
const QUARANTINE_MS = 5_000;
/** 14 addresses: with the operator's services too, the range fills now and then. */
const VIP_CIDR = '10.77.0.0/28';
const CATALOG = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
/** The names an operator applies too; the others stay the agents' (so they can expire). */
const OPERATOR_NAMES = CATALOG.slice(0, 3);
const SHARE = 0.25;

/** What an operator or an agent writes for a hosted name: its usual spec, or a conflicting one. */
function spec(name: string, conflicting: boolean): { protocol: string; ports: number[] } {
  const i = CATALOG.indexOf(name);
  return { protocol: 'http', ports: [conflicting ? 9000 + i : 8000 + i] };
}

export type HostingEvent =
  | { readonly type: 'hosts'; readonly agent: number; readonly hosts: readonly HostedService[] }
  | { readonly type: 'operator'; readonly command: KindCommand }
  | { readonly type: 'leader' }
  | { readonly type: 'upgrade'; readonly command: KindCommand }
  | { readonly type: 'setting'; readonly command: KindCommand };

export class HostingScenario {
  private readonly rng: Rng;
  /** Simulated time (from the start) at which the version is raised to the newest level; null: from the start. */
  private readonly upgradeAt: number | null;
  private upgraded = false;
  readonly counts = { hostChanges: 0, operatorChanges: 0, leaderMoves: 0, publishRuleChanges: 0 };
  /** Draws services.agent_publish's changes apart, so that the other events of a seed are drawn as before. */
  private readonly ruleRng: Rng;
  private declared = false;

  private constructor(
    seed: number,
    /** The level the cluster runs at, or is raised to (agents-sim's `version`). */
    private readonly newest: string,
  ) {
    this.rng = seededRng(seed ^ 0x5ce7_1a77);
    this.ruleRng = seededRng(seed ^ 0x0dec_1a7e);
    this.rng.next();
    this.upgradeAt = this.rng.next() < 0.3 ? this.rng.int(3_000, 15_000) : null;
  }

  /** The scenario of `seed`, or null for a seed that hosts nothing (one in four hosts). */
  static forSeed(seed: number, newest: string = REFUSALS_ONCE_VERSION): HostingScenario | null {
    return seededRng(seed ^ 0x5ce7_1a77).next() < SHARE ? new HostingScenario(seed, newest) : null;
  }

  /** The commands that start the cluster: its version, a small VIP range, a short quarantine. */
  setup(): KindCommand[] {
    return [
      { kind: 'cluster', op: 'set-version', version: this.upgradeAt === null ? this.newest : FORGET_AGENTS_VERSION } as KindCommand,
      initSettings({ 'services.vip_cidr': VIP_CIDR, 'services.vip_quarantine': QUARANTINE_MS }),
    ];
  }

  /** What agent number `i` of `n` hosts at first: nothing for one in three. */
  initialHosts(): HostedService[] {
    return this.rng.next() < 0.33 ? [] : this.someHosts();
  }

  /** 1-2 names of the catalog, one in six with a spec that conflicts with the usual one. */
  private someHosts(): HostedService[] {
    const names = new Set<string>();
    const k = this.rng.int(1, 3);
    for (let i = 0; i < k; i++) names.add(CATALOG[this.rng.int(0, CATALOG.length)]!);
    return [...names].sort().map((name) => ({ name, spec: spec(name, this.rng.next() < 1 / 6), labels: {} }));
  }

  /**
   * This step's event, if any: `elapsed` is the simulated time since the start, `faults` whether
   * the faults still run (then events are more frequent).
   */
  step(elapsed: number, faults: boolean, agents: number, current: (i: number) => readonly HostedService[]): HostingEvent | null {
    if (!this.upgraded && this.upgradeAt !== null && elapsed >= this.upgradeAt) {
      this.upgraded = true;
      return { type: 'upgrade', command: { kind: 'cluster', op: 'set-version', version: this.newest } as KindCommand };
    }
    const r = this.rng.next() * (faults ? 1 : 3);
    if (r < 0.02) {
      this.counts.hostChanges++;
      const agent = this.rng.int(0, agents);
      const r2 = this.rng.next();
      // A restart with the same agent.yaml, one that drops everything, or another list; once
      // healed, services retire (so that the leader's sweeps, 10 s apart, see them unlisted long enough).
      const hosts = r2 < 0.25 ? current(agent) : r2 < (faults ? 0.55 : 1) ? [] : this.someHosts();
      return { type: 'hosts', agent, hosts };
    }
    if (r < 0.03) {
      this.counts.operatorChanges++;
      return { type: 'operator', command: this.operatorCommand(agents) };
    }
    if (r < 0.035) {
      this.counts.leaderMoves++;
      return { type: 'leader' };
    }
    if (this.ruleRng.next() < 0.002) {
      this.counts.publishRuleChanges++;
      this.declared = !this.declared;
      return { type: 'setting', command: setSetting('services.agent_publish', this.declared ? 'declared' : 'open') };
    }
    return null;
  }

  private operatorCommand(agents: number): KindCommand {
    const name = OPERATOR_NAMES[this.rng.int(0, OPERATOR_NAMES.length)]!;
    const r = this.rng.next();
    const service = (labels: Record<string, string>, conflicting = false): KindCommand => ({ kind: 'mesh', op: 'apply', resources: [{ kind: 'service', name, spec: spec(name, conflicting), labels } as ResourceInput] }) as KindCommand;
    if (r < 0.35) return service({ [ALLOWED_AGENTS_LABEL]: this.grant(agents) });
    if (r < 0.55) return service({});
    if (r < 0.65) return service(this.rng.next() < 0.5 ? {} : { [ALLOWED_AGENTS_LABEL]: '*' }, true);
    if (r < 0.85) return { kind: 'mesh', op: 'delete', type: 'service', name } as KindCommand;
    // A route keeps the service from expiring while it names it (it fails when the service is gone).
    const route = `to-${name}`;
    if (r < 0.93) return { kind: 'mesh', op: 'apply', resources: [{ kind: 'route', name: route, spec: { from: 'web', to: name }, labels: {} } as ResourceInput] } as KindCommand;
    return { kind: 'mesh', op: 'delete', type: 'route', name: route } as KindCommand;
  }

  /** An allowed-agents label: one agent, two, a prefix, or any. */
  private grant(agents: number): string {
    const r = this.rng.next();
    const one = (): string => `a${this.rng.int(0, agents)}`;
    if (r < 0.35) return one();
    if (r < 0.65) return `${one()}, ${one()}`;
    if (r < 0.9) return `a${this.rng.int(0, 2)}*`;
    return '*';
  }
}
