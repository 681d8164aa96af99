/**
 * Damping of an agent's endpoint health, as BGP damps a flapping route: every change of an
 * agent's endpoints between healthy and unhealthy is a revision of the services it hosts, and
 * so a push to every agent that gets them (every agent that is not lazy). An agent that keeps
 * going offline and coming back (a crash loop, or a certificate doing it on purpose after
 * joining an operator's service) would make two fleet-wide pushes per cycle for as long as it
 * liked (attack round 10, A8: 5 cycles took the fleet from 7 to 17 pushes).
 *
 * So the leader, which alone proposes endpoint health (mesh-duties.ts), counts each agent's
 * outages (its record seen going offline). An agent that comes back with DAMP_OUTAGES of them
 * within DAMP_WINDOW_MS is *held*: its endpoints stay unhealthy, and its next outages and
 * returns change nothing (no revision, no push), until it has stayed online for DAMP_HOLD_MS.
 * Then its endpoints are healthy again, one revision. An outage is always let through (an
 * agent that is gone is never shown healthy); what is held back is only the word that it is
 * back. Envoy's outlier detection ejects a flapping endpoint the same way.
 *
 * Deterministic: time arrives as `now`, nothing here is replicated. A new leader starts with no
 * history, so it lets a held agent's endpoints be healthy at once (one revision per change of
 * leader at most), and counts afresh.
 */
import { formatDuration } from '../config/duration.js';

/**
 * Outages within DAMP_WINDOW_MS that make a return held. A restart within the agent's grace is
 * no outage at all; an honest agent restarted now and then (an upgrade, a host reboot) has one
 * or two outages in ten minutes, never three: three is a crash loop or a flap, and a crash loop
 * is better served by one healthy endpoint fewer than by a push to the fleet per restart.
 */
export const DAMP_OUTAGES = 3;
export const DAMP_WINDOW_MS = 10 * 60_000;
/**
 * How long a held agent must stay online before its endpoints are healthy again: long against
 * the ~4 s a flap cycle takes (timeout and grace), so a flapper costs at most a revision or two
 * per hold instead of two per cycle; short enough that a crash loop that was fixed is back in
 * its services within minutes.
 */
export const DAMP_HOLD_MS = 5 * 60_000;

interface Track {
  /** When the last DAMP_OUTAGES outages were seen, oldest first. */
  readonly outages: number[];
  /** The record's state at the leader's last look. */
  online: boolean;
  /** Held since; null: not held. */
  heldSince: number | null;
  /** While held: since when the record has been online without an outage seen; null: offline. */
  onlineSince: number | null;
}

export type DampingNote =
  | { readonly type: 'held'; readonly outages: number; readonly withinMs: number }
  | { readonly type: 'released'; readonly heldMs: number };

export interface DampingVerdict {
  /** Whether to ask the mesh kind to re-read the agent's health now. */
  readonly ask: boolean;
  /** A change of the agent's hold, to log once. */
  readonly note: DampingNote | null;
}

export class EndpointDamping {
  private readonly tracks = new Map<string, Track>();
  /** Holds begun (for the metric); never reset. */
  holds = 0;

  /**
   * The leader's look at an agent with endpoints: its committed record says `online`, and
   * `disagree` says whether some endpoint's health differs from that.
   */
  look(agent: string, online: boolean, disagree: boolean, now: number): DampingVerdict {
    let t = this.tracks.get(agent);
    if (t === undefined) {
      // Only an outage starts a history: an agent that never went offline costs nothing here.
      if (online || !disagree) return { ask: disagree, note: null };
      t = { outages: [], online: true, heldSince: null, onlineSince: null };
      this.tracks.set(agent, t);
    }
    if (t.online && !online) {
      t.outages.push(now);
      if (t.outages.length > DAMP_OUTAGES) t.outages.shift();
    }
    t.online = online;
    if (t.heldSince !== null) {
      if (!online) {
        t.onlineSince = null;
        // Unhealthy is what is held: a disagreement here is an endpoint published since, healthy.
        return { ask: disagree, note: null };
      }
      t.onlineSince ??= now;
      if (now - t.onlineSince < DAMP_HOLD_MS) return { ask: false, note: null };
      const heldMs = now - t.heldSince;
      t.heldSince = null;
      t.onlineSince = null;
      return { ask: disagree, note: { type: 'released', heldMs } };
    }
    if (online && disagree && this.flapping(t, now)) {
      t.heldSince = now;
      t.onlineSince = now;
      this.holds++;
      return { ask: false, note: { type: 'held', outages: t.outages.length, withinMs: now - t.outages[0]! } };
    }
    return { ask: disagree, note: null };
  }

  /** Whether some held agent has been online for DAMP_HOLD_MS: it is due a look though nothing changed. */
  releaseDue(now: number): boolean {
    for (const t of this.tracks.values()) if (t.heldSince !== null && t.onlineSince !== null && now - t.onlineSince >= DAMP_HOLD_MS) return true;
    return false;
  }

  /** Whether the agent's endpoints are held unhealthy now. */
  held(agent: string): boolean {
    return (this.tracks.get(agent)?.heldSince ?? null) !== null;
  }

  /** Agents held now (for the metric). */
  get heldCount(): number {
    let n = 0;
    for (const t of this.tracks.values()) if (t.heldSince !== null) n++;
    return n;
  }

  /** Drops the histories nobody needs: agents without endpoints now, and quiet ones not held. */
  prune(hasEndpoints: (agent: string) => boolean, now: number): void {
    for (const [agent, t] of this.tracks) {
      const quiet = t.heldSince === null && now - t.outages.at(-1)! > DAMP_WINDOW_MS;
      if (quiet || !hasEndpoints(agent)) this.tracks.delete(agent);
    }
  }

  /** No longer leading: a new term starts without history. */
  clear(): void {
    this.tracks.clear();
  }

  private flapping(t: Track, now: number): boolean {
    return t.outages.length >= DAMP_OUTAGES && now - t.outages[0]! <= DAMP_WINDOW_MS;
  }
}

/** The note as a log line's words (durations in whole seconds). */
export function dampingMessage(note: DampingNote): string {
  const s = (ms: number): string => formatDuration(Math.max(1_000, Math.round(ms / 1_000) * 1_000));
  return note.type === 'held'
    ? `agent's endpoints flap (${note.outages} outages within ${s(note.withinMs)}): held unhealthy until it stays online for ${s(DAMP_HOLD_MS)}, so its flaps make no revision`
    : `agent stayed online for ${s(DAMP_HOLD_MS)}: its endpoints are healthy again (held for ${s(note.heldMs)})`;
}
