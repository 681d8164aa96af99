/**
 * What the e2e tests of an agent between two clusters share (agent-two-clusters,
 * agent-one-name-two-clusters): one-member clusters holding a few resources, and an agent whose
 * --controllers list names both, ordered so that it starts on the first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { startIndex } from '../../src/agent/failover.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc } from '../agents/agent-procs.js';

/** The names of the resources in the agent's --out file, sorted. */
export const names = (a: AgentProc): string[] => (a.config()?.resources ?? []).map((r) => r.name).sort();

/** The agent's JSON log lines. */
export const lines = (a: AgentProc): Array<Record<string, unknown>> =>
  a.log.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/** A one-member cluster named `name` holding `resources` (a resources file's YAML), stopped at `t`'s teardown. */
export async function clusterHolding(t: { teardown(fn: () => unknown): void }, name: string, resources: string): Promise<ProcessCluster> {
  const c = await ProcessCluster.create({ nodes: 1, clusterName: name, logLevel: 'info' });
  t.teardown(() => c.stop());
  c.startAll();
  await c.explainFailure(c.waitForLeader());
  const file = path.join(c.dir, 'resources.yaml');
  fs.writeFileSync(file, resources);
  const applied = await c.ctl(['apply', '-f', file]);
  if (applied.code !== 0) throw new Error(`${name}: ctl apply: ${applied.stderr}`);
  return c;
}

/**
 * `other` refused agent `id` at its hello, never claimed it (its `list agents` does not show it)
 * and said so at warn.
 */
export async function otherClusterNeverClaims(t: Test, other: ProcessCluster, id: string): Promise<void> {
  const listed = await other.ctl(['list', 'agents', '-o', 'json']);
  t.equal(listed.code, 0, `the other cluster lists its agents: ${listed.stderr}`);
  t.notOk((JSON.parse(listed.stdout) as Array<{ id: string }>).some((a) => a.id === id), "the other cluster never claimed the stray agent: its list does not show it");
  const warned = (other.logs.get('c1') ?? []).join('').split('\n').some((l) => l.includes('"level":40') && l.includes(`agent ${id} holds a configuration of`) && l.includes('refused before any claim or push'));
  t.ok(warned, "the other cluster's controller warns that it refused the agent before any claim");
}

/**
 * Agent `id` with both clusters on its list, in the order its start index puts `first` first,
 * started and waited for until its --out holds `expected` (names joined by commas); killed at
 * `t`'s teardown. Its log tail is printed if the wait fails.
 */
export async function agentOnFirst(t: Test, id: string, first: ProcessCluster, second: ProcessCluster, expected: string): Promise<AgentProc> {
  const list = [first.endpoints(), second.endpoints()];
  if (startIndex(id, 2) === 1) list.reverse();
  const agent = new AgentProc({ id, controllers: list.join(','), dir: first.dir });
  t.teardown(() => agent.kill());
  agent.start();
  await waitFor(() => names(agent).join() === expected, "the agent to take the first cluster's configuration", 20_000).catch((err: unknown) => {
    t.comment(agent.tail());
    throw err;
  });
  return agent;
}
