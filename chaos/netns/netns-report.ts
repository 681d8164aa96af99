/**
 * Holds a netns run's samples to the truth imposed, phase by phase: accuracy of `list
 * controllers` and `list agents` (chaos/status-analysis.ts's rules: stale answers and the
 * grace window after a change of truth are not counted), convergence of each change of truth,
 * (agents: their own, longer target, docs/fault-injection.md), and contradictions: two non-stale answers from different controllers, asked within
 * `pairWindowMs` of each other at a time when the network had not changed for a grace window,
 * that disagree about a member or an agent.
 */
import { analyzeStatus, compareSamples, percentiles, type Percentiles, type StatusSample, type World } from '../status-analysis.js';
import type { AgentSample } from './lab-cluster.js';

export interface AgentWorld {
  readonly atMs: number;
  /** null: one-way cuts leave it undetermined. */
  readonly online: ReadonlyMap<string, boolean | null>;
  readonly majoritySide: ReadonlySet<string>;
}

export interface PhaseWindow {
  readonly name: string;
  readonly description: string;
  readonly startMs: number;
  readonly healMs: number;
  readonly endMs: number;
  /** Every time the cuts changed within the phase (fault, flaps, heal). */
  readonly cutChanges: readonly number[];
  /** Where the agent was when the phase began, for the agent phases. */
  readonly agentOn?: string;
}

export interface Accuracy {
  readonly compared: number;
  readonly matched: number;
  readonly accuracy: number;
  readonly mismatches: readonly string[];
}

export interface Convergence {
  readonly changes: readonly string[];
  readonly ms: Percentiles;
  readonly unconverged: number;
}

export interface PhaseReport {
  readonly name: string;
  readonly description: string;
  readonly controllers: Accuracy;
  readonly controllerConvergence: Convergence;
  readonly agents: Accuracy;
  readonly agentConvergence: Convergence;
  readonly contradictions: { readonly pairs: number; readonly contradicting: number; readonly examples: readonly string[] };
  readonly staleAnswers: number;
  readonly agentOn?: string;
  readonly agentEndedOn?: string;
}

const inWindow = (t: number, p: PhaseWindow): boolean => t >= p.startMs && t < p.endMs;

function accuracyOf(items: readonly { counted: boolean; ok: boolean; text: string }[]): Accuracy {
  const counted = items.filter((i) => i.counted);
  const matched = counted.filter((i) => i.ok).length;
  return {
    compared: counted.length,
    matched,
    accuracy: counted.length === 0 ? 1 : matched / counted.length,
    mismatches: counted.filter((i) => !i.ok).slice(0, 8).map((i) => i.text),
  };
}

function worldAt<T extends { atMs: number }>(worlds: readonly T[], t: number): T | null {
  let found: T | null = null;
  for (const w of worlds) {
    if (w.atMs <= t) found = w;
    else break;
  }
  return found;
}

function agentChanges(worlds: readonly AgentWorld[]): Array<{ atMs: number; agent: string; to: boolean | null }> {
  const out: Array<{ atMs: number; agent: string; to: boolean | null }> = [];
  for (let i = 1; i < worlds.length; i++) {
    for (const [a, v] of worlds[i]!.online) if (worlds[i - 1]!.online.get(a) !== v) out.push({ atMs: worlds[i]!.atMs, agent: a, to: v });
  }
  return out;
}

export function reportPhases(
  phases: readonly PhaseWindow[],
  worlds: readonly World[],
  samples: readonly StatusSample[],
  agentWorlds: readonly AgentWorld[],
  agentSamples: readonly AgentSample[],
  graceMs: number,
  agentGraceMs: number,
  pairWindowMs: number,
  endMs: number,
): PhaseReport[] {
  const analysis = analyzeStatus(worlds, samples, graceMs, endMs);
  const comparisons = compareSamples(worlds, samples, graceMs);
  const aChanges = agentChanges(agentWorlds);
  return phases.map((p) => {
    const controllers = accuracyOf(
      comparisons
        .filter((c) => inWindow(c.atMs, p))
        .map((c) => ({ counted: c.counted, ok: c.reported === c.expected, text: `${Math.round(c.atMs - p.startMs)}ms: ${c.sampler} said ${c.subject} ${c.reported}, truth ${c.expected}` })),
    );
    const changes = analysis.changes.filter((c) => inWindow(c.atMs, p));
    const controllerConvergence: Convergence = {
      changes: changes.map((c) => `${c.subject} -> ${c.to} (${c.cause}): ${c.convergedMs === null ? (c.superseded === true ? 'superseded' : 'never') : `${c.convergedMs}ms`}`),
      ms: percentiles(changes.filter((c) => c.convergedMs !== null).map((c) => c.convergedMs!)),
      unconverged: changes.filter((c) => c.convergedMs === null && c.superseded !== true).length,
    };

    // Agents: each row of each non-stale majority-side answer against the agent's truth.
    const agentItems: Array<{ counted: boolean; ok: boolean; text: string }> = [];
    for (const s of agentSamples) {
      if (!inWindow(s.sentMs, p) || s.stale) continue;
      const w = worldAt(agentWorlds, s.sentMs);
      if (w === null || !w.majoritySide.has(s.sampler)) continue;
      for (const [agent, truth] of w.online) {
        const reported = s.online.get(agent);
        const settling = aChanges.some((c) => c.agent === agent && c.atMs <= s.sentMs && s.sentMs < c.atMs + agentGraceMs) || aChanges.some((c) => c.agent === agent && c.atMs > s.sentMs && c.atMs <= s.receivedMs);
        agentItems.push({
          counted: truth !== null && !settling,
          ok: reported === (truth === true),
          text: `${Math.round(s.sentMs - p.startMs)}ms: ${s.sampler} said ${agent} ${reported === undefined ? 'absent' : reported ? `online on ${s.controller.get(agent)}` : 'offline'}, truth ${truth === true ? 'online' : 'offline'}`,
        });
      }
    }
    const agents = accuracyOf(agentItems);
    const agentConv = aChanges
      .filter((c) => inWindow(c.atMs, p) && c.to !== null)
      .map((c) => {
        const next = aChanges.find((d) => d.agent === c.agent && d.atMs > c.atMs)?.atMs ?? endMs;
        const w = worldAt(agentWorlds, c.atMs)!;
        let worst = 0;
        let converged = true;
        for (const sampler of w.majoritySide) {
          const seen = agentSamples.find((s) => s.sampler === sampler && !s.stale && s.sentMs >= c.atMs && s.receivedMs < next && s.online.get(c.agent) === c.to);
          if (seen === undefined) converged = false;
          else worst = Math.max(worst, seen.receivedMs - c.atMs);
        }
        return { text: `${c.agent} -> ${c.to === true ? 'online' : 'offline'}: ${converged ? `${Math.round(worst)}ms` : 'never'}`, ms: converged ? worst : null };
      });
    const agentConvergence: Convergence = {
      changes: agentConv.map((c) => c.text),
      ms: percentiles(agentConv.filter((c) => c.ms !== null).map((c) => c.ms!)),
      unconverged: agentConv.filter((c) => c.ms === null).length,
    };

    // Contradictions: only where the network has been still for a grace window.
    const settled = (t: number, grace: number): boolean => {
      const last = [...p.cutChanges].reverse().find((c) => c <= t);
      return last !== undefined && t - last >= grace;
    };
    const answers = [
      ...samples.filter((s) => !s.stale && inWindow(s.sentMs, p) && settled(s.sentMs, graceMs)).map((s) => ({ sampler: s.sampler, sentMs: s.sentMs, online: new Map(s.rows.map((r) => [r.id, r.online])) })),
      ...agentSamples.filter((s) => !s.stale && inWindow(s.sentMs, p) && settled(s.sentMs, agentGraceMs)).map((s) => ({ sampler: s.sampler, sentMs: s.sentMs, online: s.online })),
    ].sort((a, b) => a.sentMs - b.sentMs);
    let pairs = 0;
    let contradicting = 0;
    const examples: string[] = [];
    for (let i = 0; i < answers.length; i++) {
      for (let j = i + 1; j < answers.length && answers[j]!.sentMs - answers[i]!.sentMs <= pairWindowMs; j++) {
        const a = answers[i]!;
        const b = answers[j]!;
        if (a.sampler === b.sampler) continue;
        const shared = [...a.online.keys()].filter((k) => b.online.has(k));
        if (shared.length === 0) continue;
        pairs += 1;
        const differ = shared.filter((k) => a.online.get(k) !== b.online.get(k));
        if (differ.length > 0) {
          contradicting += 1;
          if (examples.length < 5) examples.push(`${Math.round(a.sentMs - p.startMs)}ms: ${differ.map((k) => `${k} ${a.online.get(k) ? 'online' : 'offline'} at ${a.sampler}, ${b.online.get(k) ? 'online' : 'offline'} at ${b.sampler}`).join('; ')}`);
        }
      }
    }
    const agentEnd = [...agentSamples].reverse().find((s) => s.sentMs < p.endMs && !s.stale);
    return {
      name: p.name,
      description: p.description,
      controllers,
      controllerConvergence,
      agents,
      agentConvergence,
      contradictions: { pairs, contradicting, examples },
      staleAnswers: samples.filter((s) => s.stale && inWindow(s.sentMs, p)).length,
      ...(p.agentOn !== undefined ? { agentOn: p.agentOn } : {}),
      ...(p.agentOn !== undefined && agentEnd !== undefined ? { agentEndedOn: [...agentEnd.controller.values()].join(',') } : {}),
    };
  });
}
