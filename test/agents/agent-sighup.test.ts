/**
 * SIGHUP to an agent, as an operator sends it after editing agent.yaml (the controller reloads on
 * it). Before, Node's default action killed the agent: exit 129, not a word in its log, its
 * endpoints unhealthy until someone restarted it (attack-operator round 15). Now it runs on and
 * says what a restart would do with the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseAgentYaml, type AgentYaml } from '../../src/agent/agent-yaml.js';
import { rereadAgentYaml, rereadNote } from '../../src/agent/yaml-reread.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc } from './agent-procs.js';

const RUNNING = `protocols: [tcp, http]
hosts:
  - { name: web, spec: { ports: [8080], protocol: http }, labels: { tier: front, app: shop } }
  - { name: api, spec: { protocol: http, ports: [9090] } }
`;

function tempFile(t: { teardown(fn: () => void): void }, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-sighup-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, text);
  return file;
}

void t.test('a reread compares declarations, not text: order and spelling alone change nothing', async (t) => {
  const running: AgentYaml = parseAgentYaml(RUNNING, 'agent.yaml');
  const same = tempFile(t, `hosts:
  - { name: api, spec: { protocol: http, ports: [9090] }, labels: {} }
  - { name: web, spec: { protocol: http, ports: [8080] }, labels: { app: shop, tier: front } }
protocols: [http, tcp]
lazy: false
`);
  t.same(rereadAgentYaml(same, running), { kind: 'unchanged' });

  const edited = tempFile(t, `${RUNNING.replace('9090', '9091')}lazy: true\n`);
  t.same(rereadAgentYaml(edited, running), { kind: 'changed', keys: ['lazy', 'hosts'] }, 'the keys that changed, in the file\'s order');

  const broken = tempFile(t, `${RUNNING}lazzy: true\n`);
  const reread = rereadAgentYaml(broken, running);
  t.equal(reread.kind, 'invalid');
  const note = rereadNote(broken, reread);
  t.equal(note.code, 'AGENT_CONFIG_RELOAD_FAILED');
  t.match(note.message, `${broken}: lazzy`, 'names the file and the key, as a start would');
  t.match(note.message, /a restart would stop at once \(exit 2\)/);
});

void t.test('SIGHUP leaves the agent running and says what a restart would do with agent.yaml', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-sighup-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Nothing listens there: the agent retries for as long as it runs, which is all this needs.
  const controller = `127.0.0.1:${(await freePorts(1))[0]}`;
  const agent = new AgentProc({ id: 'edge-1', controllers: controller, dir, yaml: RUNNING });
  t.teardown(() => agent.kill());
  agent.start();
  const lines = (): Record<string, unknown>[] =>
    agent.log
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const logged = (code: string): Record<string, unknown> | undefined => lines().find((l) => l.code === code);
  const until = async (what: string, cond: () => boolean): Promise<void> =>
    waitFor(cond, what, 15_000).catch((err: unknown) => {
      t.comment(agent.tail());
      throw err;
    });
  await until('the agent to start', () => lines().some((l) => l.msg === 'agent started'));
  const file = path.join(dir, 'edge-1.yaml');

  // AgentProc drops `child` when the process exits, by a signal too (then exitCode stays null).
  agent.child?.kill('SIGHUP');
  await until('AGENT_CONFIG_UNCHANGED', () => logged('AGENT_CONFIG_UNCHANGED') !== undefined || agent.child === null);
  t.not(agent.child, null, 'still running after SIGHUP');
  t.match(logged('AGENT_CONFIG_UNCHANGED'), { level: 30, file });

  fs.writeFileSync(file, `${RUNNING}dependencies: [db]\n`);
  agent.child?.kill('SIGHUP');
  await until('AGENT_CONFIG_RESTART_NEEDED', () => logged('AGENT_CONFIG_RESTART_NEEDED') !== undefined || agent.child === null);
  t.match(logged('AGENT_CONFIG_RESTART_NEEDED'), { level: 40, keys: ['dependencies'], msg: /changed dependencies, which this agent reads at start only: it keeps running/ });

  fs.writeFileSync(file, 'hosts: [ { name: Web } ]\n');
  agent.child?.kill('SIGHUP');
  await until('AGENT_CONFIG_RELOAD_FAILED', () => logged('AGENT_CONFIG_RELOAD_FAILED') !== undefined || agent.child === null);
  t.match(logged('AGENT_CONFIG_RELOAD_FAILED'), { level: 50, msg: /hosts\[0\]\.name: .*a restart would stop at once \(exit 2\)/ });
  t.not(agent.child, null, 'still running after three SIGHUPs');

  await agent.kill('SIGTERM');
  t.equal(agent.exitCode, 0, 'SIGTERM still stops it cleanly');
});
