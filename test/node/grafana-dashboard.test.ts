/** docs/grafana.json reads metrics that exist, with the types its queries assume. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { AutopilotMetrics } from '../../src/node/autopilot-metrics.js';
import { Metrics } from '../../src/node/metrics.js';
import { packageRoot } from '../../src/transport/proto.js';
import { idleHubDriver } from '../agents/hub-driver-port.js';

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos?: unknown;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'docs/grafana.json'), 'utf8')) as { panels: Panel[]; templating: { list: { query: unknown }[] } };

void t.test('every metric a panel queries is one the controller exposes, histograms by their buckets', async (t) => {
  const registry = new Metrics('dashboard').registry;
  new AutopilotMetrics(registry, () => null);
  idleHubDriver().registerMetrics(registry);
  const types = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  registry.clear();
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ title: p.title, expr: target.expr })));
  t.ok(exprs.length >= 20, `${exprs.length} queries`);
  for (const { title, expr } of exprs) {
    const names = expr.match(/\b(?:raft|membership|autopilot|agents|process|nodejs|controller)_[a-z0-9_]+/g) ?? [];
    t.ok(names.length > 0, `${title}: queries a metric`);
    for (const name of names) {
      const bucket = name.endsWith('_bucket') ? name.slice(0, -'_bucket'.length) : null;
      if (bucket !== null) t.equal(types.get(bucket), 'histogram', `${title}: ${bucket} is a histogram`);
      else t.ok(types.has(name), `${title}: ${name} exists`);
      if (name.endsWith('_total')) t.match(expr, new RegExp(`(rate|increase)\\(${name}`), `${title}: the counter ${name} is read as a rate`);
    }
  }
});

void t.test('panels have unique ids and a place on the grid; the node variable reads a real label', async (t) => {
  const ids = dashboard.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length);
  for (const p of dashboard.panels) t.ok(p.gridPos, `${p.title} is placed`);
  t.match(JSON.stringify(dashboard.templating.list), /label_values\(raft_term, node\)/);
});
