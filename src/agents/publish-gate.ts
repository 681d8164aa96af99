/**
 * What an agent publishes (the services it hosts, from its hello) goes to the cluster in a mesh
 * report once its claim has committed, unless it would do harm there: a service in a protocol
 * other agents do not speak, a publish that creates services while the state is at its quota, or
 * one that would grow the mesh past its bound is held back, logged, audited and counted once per
 * connection, and looked at again at the hub's next reconcile round (every state_sync_interval).
 * Hosts the mesh would refuse at apply are counted, logged and audited once per refusal
 * (publish-refusals.ts). Part of the hub's deterministic core
 * (hub.ts): no time, no I/O.
 */
import type { HubCounters, HubEffect, HubPort } from './hub-types.js';
import type { MeshReportQueue } from './mesh-reports.js';
import { PUBLISH_CHANGES_PER_WINDOW, PUBLISH_WINDOW_MS, PublishDamping } from './publish-damping.js';
import { publishCheck } from './publishing.js';
import { newlyRefused, type PublishRefusals, type Refusal } from './publish-refusals.js';
import { log, type Session } from './session.js';
import { quotedList } from '../util/quoted-list.js';
import { RateBudget } from '../util/rate-budget.js';

export class PublishGate {
  /** Mesh growth of each agent's publish queued or in flight (inFlight). */
  private readonly growth = new Map<string, number>();
  /** How often each agent's publishes may change the mesh through this controller (publish-damping.ts). */
  private readonly damping = new PublishDamping();
  /** Its warnings: a churning agent reconnects every second, and a log line must not be free to flood. */
  private readonly dampedWarnings = new RateBudget(1, 10, 0);

  constructor(
    private readonly port: Pick<HubPort, 'state' | 'wallClock' | 'atQuota' | 'meshRoom'>,
    private readonly meshReports: MeshReportQueue,
    private readonly counters: HubCounters,
    /** What was warned of and audited, per agent: shared with the hub, which tells it what the log audited. */
    private readonly refusals: PublishRefusals,
  ) {}

  /**
   * Once its claim is committed (so its endpoints start healthy and a late publish from a stream
   * it has left is fenced out), the agent's declaration goes to the log if it says anything the
   * log does not hold. An identical re-publish is not proposed at all.
   */
  consider(s: Session, now: number, out: HubEffect[]): void {
    const hello = s.hello;
    if (hello === null || this.meshReports.publishPending(hello.agentId)) return;
    const check = publishCheck(hello, s.id, this.port.state(), this.port.wallClock());
    // Held back below, or left with refused hosts: the next reconcile round looks again.
    s.publishWaiting = true;
    const refusedHosts = check.refused.map((r) => ({ name: r.name, reason: r.reason }));
    s.publish = { refusedHosts, held: null };
    this.noteRefusals(s, hello.agentId, check.refused, check.entry === null, out);
    if (check.entry === null) {
      if (!s.publishChecked) this.counters.republishesSkipped++;
      s.publishChecked = true;
      s.publishWaiting = check.refused.length > 0;
      return;
    }
    // A service in a protocol that agents getting every service do not speak would have each of
    // them NACK every configuration from then on: one agent's certificate froze the fleet (attack
    // round 10). Held back until they speak it (checked again every state_sync_interval); an
    // operator may still add such a service with ctl apply, and sees the NACKs.
    if (check.unspoken.length > 0) {
      const reason = check.unspoken.map((u) => `service ${JSON.stringify(u.service)} uses protocol ${JSON.stringify(u.protocol)}, which ${quotedList(u.agents)} ${u.agents.length === 1 ? 'does' : 'do'} not speak and would NACK`).join('; ');
      s.publish = { refusedHosts, held: `${reason} (agents that are not lazy get every service; an operator may add it with ctl apply)` };
      if (!s.protocolHeld) {
        s.protocolHeld = true;
        this.counters.publishesUnspoken++;
        const subject = check.unspoken[0]!.service;
        out.push(log('warn', 'agent publishes a service in a protocol other agents do not speak; its declaration is not proposed', { agent: hello.agentId, reason }));
        out.push({ type: 'audit', event: { type: 'service.publish.refused', subject, from: null, to: hello.agentId, reason: `agent ${hello.agentId}: publish held back: ${reason}` } });
      }
      s.publishChecked = true;
      return;
    }
    // Services agents publish are not held to the quota at apply (an agent's declaration is
    // committed whole, as it sent it): a publish that creates services is held back here while
    // the state is at its quota, and goes at a later check (every state_sync_interval) with room made.
    if (check.creates > 0 && this.port.atQuota?.() === true) {
      s.publish = { refusedHosts, held: 'the state is at its quota (controller.quota_bytes): services it would create wait for room' };
      if (!s.publishChecked) {
        this.counters.publishesHeld++;
        out.push(log('warn', 'agent publishes new services while the state is at its quota (controller.quota_bytes); its declaration is not proposed', { agent: hello.agentId, creates: check.creates }));
      }
      s.publishChecked = true;
      return;
    }
    // Likewise a publish that would grow the mesh past controller.max_mesh_bytes (creates, joins,
    // bigger specs): held back, logged, audited and counted once per connection (checked again
    // every state_sync_interval, which proposes nothing until there is room: it never loops),
    // and it goes at the first check with room made.
    const tooBig = check.growth > 0 ? (this.port.meshRoom?.(check.growth + this.inFlight()) ?? null) : null;
    if (tooBig !== null) {
      s.publish = { refusedHosts, held: `it does not fit the mesh (controller.max_mesh_bytes): ${tooBig}` };
      if (!s.meshHeld) {
        s.meshHeld = true;
        this.counters.publishesOverMesh++;
        const subject = hello.hosts[0]?.name ?? hello.agentId;
        out.push(log('warn', 'agent publishes services that do not fit the mesh (controller.max_mesh_bytes); its declaration is not proposed', { agent: hello.agentId, reason: tooBig }));
        out.push({ type: 'audit', event: { type: 'service.publish.refused', subject, from: null, to: hello.agentId, reason: `agent ${hello.agentId}: publish of ${hello.hosts.length} service(s) held back: ${tooBig}` } });
      }
      s.publishChecked = true;
      return;
    }
    // Past its allowance of changes through this controller, an agent's publish waits: each one
    // is a push to every agent that gets its services (publish-damping.ts).
    const wait = this.damping.waitMs(hello.agentId, now);
    if (wait > 0) {
      const why = `it changes the mesh again after ${PUBLISH_CHANGES_PER_WINDOW} changes within ${PUBLISH_WINDOW_MS / 1000}s through this controller: it goes in ${Math.ceil(wait / 1000)}s`;
      s.publish = { refusedHosts, held: why };
      if (!s.publishDamped) {
        s.publishDamped = true;
        this.counters.publishesDamped++;
        if (this.dampedWarnings.take(now)) out.push(log('warn', 'agent publishes changes to the mesh faster than they are taken; its declaration waits', { agent: hello.agentId, reason: why }));
      }
      s.publishChecked = true;
      return;
    }
    s.publishChecked = true;
    // Looked at again once it has committed (consider waits while it is pending): from cluster
    // version 0.14 the log audits a standing refusal once (refusal-marks.ts), so a refusal at
    // apply that this check did not foresee (an operator's write in between) may come with no
    // transition to look again for, and the agent would stay off until it reconnected.
    s.publishWaiting = true;
    this.counters.publishes++;
    this.damping.proposed(hello.agentId, now);
    this.meshReports.publish(check.entry);
    if (check.growth > 0) this.growth.set(hello.agentId, check.growth);
  }

  /**
   * Refused hosts (publish-refusals.ts): each counted once per publish, and again when a later
   * check refuses it anew; warned of and audited once per agent and service until that changes.
   * A refusal in a publish proposed now (or held to be proposed later) is audited by its commit,
   * on every controller; one in a publish that proposes nothing (the log holds its declaration:
   * a reconnect, or a service an operator deleted since) is audited here, and so is one the
   * agent's record marks already for that cause (from cluster version 0.14 the commit audits it no
   * more, refusal-marks.ts: an agent that stopped listing a name it was refused and lists it again,
   * months later maybe, was warned of here and audited nowhere). Not audited here again: a
   * refusal in a publish that proposes nothing which the committed declaration lists and marks
   * for the same cause; its commit audited it, or the controller that proposed the listing did.
   * This controller may not know (restarted from a snapshot, which keeps no transitions).
   */
  private noteRefusals(s: Session, agent: string, refused: readonly Refusal[], proposesNothing: boolean, out: HubEffect[]): void {
    const { fresh: uncounted, standing } = newlyRefused(s.refusalsCounted, refused);
    s.refusalsCounted = standing;
    this.counters.publishesNotAllowed += uncounted.filter((r) => r.cause === 'not-allowed').length;
    this.counters.publishesOverShare += uncounted.filter((r) => r.cause === 'share').length;
    this.counters.publishesUndeclared += uncounted.filter((r) => r.cause === 'undeclared').length;
    const untold = this.refusals.toTell(agent, refused);
    if (untold.length === 0) return;
    out.push(log('warn', 'agent publishes services the cluster refuses', { agent, refused: untold.map((r) => `${r.name}: ${r.reason}`) }));
    const declaration = this.port.state().mesh.declaration(agent);
    for (const r of untold) {
      const marked = declaration?.refused.get(r.name) === r.cause;
      if (proposesNothing ? marked && declaration?.hosts.includes(r.name) === true : !marked) continue;
      out.push({ type: 'audit', event: { type: 'service.publish.refused', subject: r.name, from: null, to: agent, reason: `agent ${agent}: ${r.reason}` } });
    }
  }

  /**
   * What the publishes queued or in flight here will add to the mesh, once applied: judged with
   * the applied state alone, 200 agents publishing at once took a 1 MiB bound to 26 MiB.
   */
  private inFlight(): number {
    let sum = 0;
    for (const [agent, growth] of this.growth) {
      if (this.meshReports.publishPending(agent)) sum += growth;
      else this.growth.delete(agent);
    }
    return sum;
  }

}
