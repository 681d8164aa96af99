/**
 * A seeded HTTP/1 fuzzer for the agent's admin port (not a test the suite runs):
 *   node dist/test/fuzz/http1-fuzz.js [--seed N] [--bursts N]
 * Starts an agent (its controllers' address unanswered: the admin port serves all the same) and
 * sends bursts of raw requests: odd methods and targets (malformed percent escapes, `//host:port`
 * forms, absolute URLs, long or control-character paths), odd headers, pipelined and cut-short
 * requests. After each burst the agent must still run and answer GET /config within a deadline.
 * Burst i is seed S + i: a failure prints its seed, and `--seed <that> --bursts 1` replays it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AgentProc } from '../agents/agent-procs.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { Rng } from './h2-burst.js';

const METHODS = ['GET', 'GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE', 'CONNECT', 'PRI', 'G\x00T', 'get', ''];
const NAMES = ['web', 'db', 'a'.repeat(300), 'Not%20A%20Name', '%', '%E0%A4%A', '%ZZ', '%00', '..', '%2F', 'web%2Fx', '%C0%AF', '\u00e9'];

function target(rng: Rng): string {
  switch (rng.int(9)) {
    case 0:
      return '/config';
    case 1:
      return `/config?${'x'.repeat(rng.int(5000))}`;
    case 2:
      return `//a:${rng.pick(['99999', '-1', 'x', '80'])}/${rng.pick(['config', 'resolve/web'])}`;
    case 3:
      return `http://agent:${rng.pick(['1', '65536'])}/config`;
    case 4:
      return rng.pick(['*', '', '/', '?', '#', '/\t', '/%', '/resolve/', '/resolve//', '/../config']);
    case 5:
      return `/${'a/'.repeat(rng.int(2000))}`;
    default:
      return `/resolve/${rng.pick(NAMES)}${rng.chance(0.2) ? rng.pick(NAMES) : ''}`;
  }
}

function request(rng: Rng): string {
  const headers = ['Host: agent'];
  if (rng.chance(0.2)) headers.push(`Content-Length: ${rng.pick(['0', '5', '-1', 'x', '99999999999999999999'])}`);
  if (rng.chance(0.1)) headers.push('Transfer-Encoding: chunked');
  if (rng.chance(0.1)) headers.push(`X-Big: ${'v'.repeat(rng.pick([100, 10_000, 20_000]))}`);
  if (rng.chance(0.1)) headers.push(rng.pick(['Bad Header: 1', ': empty', 'X-Ctl: \x01', 'Expect: 100-continue', 'Upgrade: h2c', 'Connection: upgrade']));
  const body = rng.chance(0.1) ? 'hello' : '';
  return `${rng.pick(METHODS)} ${target(rng)} ${rng.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1'])}\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** One connection: one to five requests pipelined, sometimes cut short; resolves once it closes (2 s at most). */
function connection(port: number, rng: Rng): Promise<void> {
  const bytes = Buffer.from(Array.from({ length: 1 + rng.int(5) }, () => request(rng)).join(''), 'latin1');
  const cut = rng.chance(0.2) ? rng.int(bytes.length) : bytes.length;
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end(bytes.subarray(0, cut));
    });
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function configWithin(port: number, ms: number): Promise<boolean> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    return (await fetch(`http://127.0.0.1:${port}/config`, { signal: ctl.signal })).status === 200;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

// A fixed default, as the simulations' CLIs have: a bare run is the same run every time; --seed picks another.
const seed = Number(arg('seed') ?? 1);
const bursts = Number(arg('bursts') ?? 100);
console.log(`http1-fuzz: seed ${seed}, ${bursts} bursts`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http1-fuzz-'));
const [controllerPort, adminPort] = (await freePorts(2)) as [number, number];
const agent = new AgentProc({ id: 'fz', controllers: `127.0.0.1:${controllerPort}`, dir, admin: `127.0.0.1:${adminPort}` }).start();
let failed: string | null = null;
let requests = 0;
try {
  await waitFor(() => configWithin(adminPort, 1000), 'the admin port serving /config');
  for (let i = 0; i < bursts && failed === null; i++) {
    const rng = new Rng(seed + i);
    const n = 1 + rng.int(4);
    await Promise.all(Array.from({ length: n }, () => connection(adminPort, rng)));
    requests += n;
    const answered = await configWithin(adminPort, 5000);
    if (agent.child === null) failed = `burst seed ${seed + i}: the agent exited (${agent.exitCode})\n${agent.tail()}`;
    else if (!answered) failed = `burst seed ${seed + i}: no answer to GET /config within 5 s`;
  }
} finally {
  await agent.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bursts, connections: requests, failure: failed }));
if (failed !== null) {
  console.log(`FAILURE ${failed}`);
  process.exitCode = 1;
}
