/**
 * docs/reference.md stands alone only while it keeps up with the code: every ctl command and
 * flag, every configuration key, every cluster-wide setting with its default, every exit code,
 * audit event type and metric must be in it. A new command group gets its own `### ctl GROUP`
 * section.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import t from 'tap';
import { EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from '../../src/api/errors.js';
import { CONTROLLER_FIELDS } from '../../src/api/controller-rows.js';
import { buildProgram } from '../../src/cli/ctl/program.js';
import { AUDIT_EVENT_TYPES } from '../../src/membership/audit.js';
import { Metrics } from '../../src/node/metrics.js';
import { OtherClusterMetrics } from '../../src/node/other-cluster-metrics.js';
import { TLS_METRICS } from '../../src/node/tls-metrics.js';
import { configKeys } from '../helpers/config-keys.js';
import { REMOVED_EXIT_CODE } from '../../src/node/removal-watch.js';
import { SETTINGS, SETTING_KEYS } from '../../src/settings/index.js';
import { packageRoot } from '../../src/transport/proto.js';

const doc = fs.readFileSync(path.join(packageRoot(), 'docs/reference.md'), 'utf8');

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.replace(/^#+ /, '') === heading && l.startsWith('#'));
  if (start < 0) return '';
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

interface Leaf {
  readonly path: string;
  /** Each flag's spellings: long, and short when it has one; either may be documented. */
  readonly flags: readonly (readonly string[])[];
}

function leaves(cmd: Command, prefix: string, out: Leaf[]): Leaf[] {
  for (const sub of cmd.commands) {
    const p = prefix === '' ? sub.name() : `${prefix} ${sub.name()}`;
    if (sub.commands.length === 0) out.push({ path: p, flags: sub.options.map((o) => [o.long, o.short].filter((f): f is string => f !== undefined)) });
    else leaves(sub, p, out);
  }
  return out;
}

const io = { env: {}, out: () => undefined, err: () => undefined, now: () => 0, onInterrupt: () => () => undefined };

void t.test('every ctl command has its group section, and every flag of it is there', async (t) => {
  const { program } = buildProgram(io, []);
  for (const leaf of leaves(program, '', [])) {
    const group = leaf.path.split(' ')[0]!;
    const text = section(`ctl ${group}`);
    t.not(text, '', `a "### ctl ${group}" section`);
    t.ok(text.includes(`ctl ${leaf.path}`), `ctl ${leaf.path} is in it`);
    for (const spellings of leaf.flags) t.ok(spellings.some((f) => text.includes(`${f} `) || text.includes(`${f}]`) || text.includes(`${f}\``)), `ctl ${leaf.path} ${spellings.join('/')} is in it`);
  }
  const globals = section('ctl: global flags');
  for (const o of program.options) t.ok(o.long !== undefined && globals.includes(o.long), `the global flag ${o.long ?? o.flags} is listed`);
});

void t.test('list controllers: every JSON field is described', async (t) => {
  const text = section('ctl list');
  for (const field of CONTROLLER_FIELDS) t.ok(text.includes(`\`${field}\``), `${field}`);
});

void t.test('every configuration key is in the reference with its default', async (t) => {
  const keys = configKeys();
  t.ok(keys.length > 20, `${keys.length} keys found in the schema`);
  const config = section('Configuration file') + section('Cluster-wide settings');
  for (const key of keys) {
    // tls.ca, tls.cert and tls.key share a row.
    const shown = key.startsWith('tls.') ? config.includes(`\`${key}\``) || config.includes(key.slice('tls.'.length)) : config.includes(`\`${key}\``);
    t.ok(shown, `${key}`);
  }
});

void t.test('every cluster-wide setting is marked as such, with its default', async (t) => {
  const text = section('Cluster-wide settings');
  t.match(text, /\*\*Cluster-wide\*\*/);
  for (const key of SETTING_KEYS) {
    const row = text.split('\n').find((l) => l.startsWith(`| \`${key}\``));
    t.ok(row, `${key} has a row`);
    const def = SETTINGS[key].defaultText.replaceAll('raft.election_timeout', '`raft.election_timeout`');
    t.ok(row?.includes(def) || row?.includes(`\`${SETTINGS[key].defaultText}\``), `${key}: default ${SETTINGS[key].defaultText}`);
  }
});

void t.test('every exit code, audit event type and metric is in it', async (t) => {
  const codes = section('Exit codes');
  for (const code of [EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, REMOVED_EXIT_CODE]) t.match(codes, new RegExp(`^\\| ${code} \\|`, 'm'), `exit ${code}`);
  const audit = section('Audit events');
  for (const type of AUDIT_EVENT_TYPES) t.ok(audit.includes(`\`${type}\``), `audit type ${type}`);
  const metrics = section('Metrics');
  const registry = new Metrics('doc').registry;
  new OtherClusterMetrics(registry, () => 0);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
  t.ok(names.length > 20, `${names.length} metrics of our own`);
  for (const name of names) t.ok(metrics.includes(`\`${name}`), `metric ${name}`);
  // Registered only with a tls block, beside the node's own.
  for (const name of Object.values(TLS_METRICS)) t.ok(metrics.includes(`\`${name}`), `metric ${name}`);
  registry.clear();
});

void t.test('the README links to the reference and to nothing outside the repository', async (t) => {
  const readme = fs.readFileSync(path.join(packageRoot(), 'README.md'), 'utf8');
  t.match(readme, /\]\(docs\/reference\.md\)/);
  t.notMatch(readme, /\.\.\//, 'no path leaves the repository');
});
