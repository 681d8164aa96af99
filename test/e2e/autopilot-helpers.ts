/** Shared by the health, autopilot, recovery and resources end-to-end tests: metrics scrapes and ctl's JSON. */
import type { HealthJson } from '../../src/api/health-wire.js';
import type { ResourcesJson } from '../../src/api/resources-wire.js';
import type { ProcessCluster } from '../helpers/process-cluster.js';

export async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

/** The value of one sample, e.g. `resources_remote_calls_total{figures="static"}`; null when absent. */
export function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

export interface HealthRun {
  readonly code: number;
  readonly health: HealthJson | null;
  readonly stderr: string;
}

/** `ctl health -o json` against `endpoints`; the JSON is printed whatever the verdict. */
export async function ctlHealth(cluster: ProcessCluster, endpoints = cluster.endpoints()): Promise<HealthRun> {
  const r = await cluster.ctl(['health', '-o', 'json'], endpoints);
  return { code: r.code, health: r.stdout.trim() === '' ? null : (JSON.parse(r.stdout) as HealthJson), stderr: r.stderr };
}

export async function ctlResources(cluster: ProcessCluster, args: readonly string[] = [], endpoints = cluster.endpoints()): Promise<{ code: number; resources: ResourcesJson | null; stderr: string }> {
  const r = await cluster.ctl(['resources', '-o', 'json', ...args], endpoints);
  return { code: r.code, resources: r.code === 0 ? (JSON.parse(r.stdout) as ResourcesJson) : null, stderr: r.stderr };
}
