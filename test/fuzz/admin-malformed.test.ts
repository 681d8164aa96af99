/**
 * Found writing the admin port's fuzzer (http1-fuzz.ts, which hits it at its first burst): the
 * agent's admin port answers a request whose path it cannot decode, and lives on. Before,
 * `GET /resolve/%` (a malformed percent escape) threw URIError out of the request listener, and
 * `GET //a:99999/` a TypeError from new URL(): uncaught, either one ended the agent process. The
 * port is loopback by default, but anything on the host reaches it, a web page in a browser
 * there included (a no-cors GET).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AgentProc } from '../agents/agent-procs.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

/** The status line of the answer to one raw request (the target sent as it is). */
function statusOf(port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n`));
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
  });
}

void t.test('the admin port answers paths it cannot decode 400, and the agent lives on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-malformed-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [controllerPort, adminPort] = await freePorts(2);
  // No controller listens there: the admin port serves all the same.
  const agent = new AgentProc({ id: 'a1', controllers: `127.0.0.1:${controllerPort}`, dir, admin: `127.0.0.1:${adminPort}` }).start();
  t.teardown(() => agent.kill());
  await waitFor(async () => (await statusOf(adminPort!, '/config')).startsWith('HTTP/1.1 200'), 'the admin port serving /config');
  for (const target of ['/resolve/%', '/resolve/%E0%A4%A', '//a:99999/']) {
    t.match(await statusOf(adminPort!, target), /^HTTP\/1\.1 400 /, `${target}: refused 400`);
  }
  t.match(await statusOf(adminPort!, '/config'), /^HTTP\/1\.1 200 /, 'still serving');
  t.equal(agent.exitCode, null, `the agent is still running:\n${agent.tail()}`);
});
