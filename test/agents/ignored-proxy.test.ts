/** Which controllers grpc-js's client would have reached through an HTTP CONNECT proxy (its http_proxy.ts rules), which the agent's own client does not. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ignoredProxy } from '../../src/agent/ignored-proxy.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc } from './agent-procs.js';

const controllers = ['10.0.0.1:7001', 'c2.prod.example:7001', '[fd00::3]:7001'];

void t.test('no proxy variable: nothing ignored', async (t) => {
  t.equal(ignoredProxy({}, controllers), null);
});

void t.test('grpc_proxy first, then https_proxy, then http_proxy; the origin only (no password)', async (t) => {
  t.same(ignoredProxy({ https_proxy: 'http://u:secret@proxy.example:3128', http_proxy: 'http://other:80' }, controllers), {
    variable: 'https_proxy',
    proxy: 'http://proxy.example:3128',
    controllers,
  });
  t.equal(ignoredProxy({ grpc_proxy: 'http://g:1', https_proxy: 'http://h:2' }, controllers)?.variable, 'grpc_proxy');
  t.equal(ignoredProxy({ http_proxy: 'http://h:2' }, controllers)?.variable, 'http_proxy');
});

void t.test('a proxy grpc-js did not take (not http://, not a URL) is no change', async (t) => {
  t.equal(ignoredProxy({ https_proxy: 'https://proxy.example:3128' }, controllers), null);
  t.equal(ignoredProxy({ https_proxy: 'proxy.example:3128' }, controllers), null);
});

void t.test('no_grpc_proxy (else no_proxy) leaves out hosts by suffix and IPv4 CIDR, as grpc-js did', async (t) => {
  t.same(ignoredProxy({ https_proxy: 'http://p:1', no_proxy: '.prod.example,10.0.0.0/8' }, controllers)?.controllers, ['[fd00::3]:7001']);
  t.same(ignoredProxy({ https_proxy: 'http://p:1', no_grpc_proxy: 'fd00::3', no_proxy: '.prod.example' }, controllers)?.controllers, ['10.0.0.1:7001', 'c2.prod.example:7001']);
  t.equal(ignoredProxy({ https_proxy: 'http://p:1', no_proxy: '10.0.0.1,prod.example,fd00::3' }, controllers), null);
  t.same(ignoredProxy({ https_proxy: 'http://p:1', no_proxy: '10.1.0.0/16' }, ['10.0.0.1:7001'])?.controllers, ['10.0.0.1:7001'], 'outside the CIDR');
});

void t.test('the agent says at start that it dials directly what grpc-js tunnelled through $https_proxy', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ignored-proxy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Nothing listens there: the warning comes at start, before any connection.
  const controller = `127.0.0.1:${(await freePorts(1))[0]}`;
  const agent = new AgentProc({ id: 'edge-1', controllers: controller, dir, env: { https_proxy: 'http://user:pw@proxy.example:3128', no_proxy: '', no_grpc_proxy: '' } });
  t.teardown(() => agent.kill());
  agent.start();
  const warning = (): Record<string, unknown> | undefined =>
    agent.log
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.code === 'PROXY_NOT_USED');
  await waitFor(() => warning() !== undefined, 'the PROXY_NOT_USED warning', 10_000).catch((err: unknown) => {
    t.comment(agent.log.join(''));
    throw err;
  });
  t.match(warning(), { level: 40, variable: 'https_proxy', proxy: 'http://proxy.example:3128', controllers: [controller] });
  t.notMatch(JSON.stringify(warning()), /pw/, 'the password stays out of the log');
});
