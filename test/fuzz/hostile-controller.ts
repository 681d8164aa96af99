/**
 * A hostile "controller" for the agent's own HTTP/2 client (src/transport/h2-stream), not a test
 * the suite runs:
 *   node dist/test/fuzz/hostile-controller.js [--seed N] [--agents N] [--seconds N]
 * Starts `agents` agents against a plaintext HTTP/2 server that answers each Sync stream with a
 * seeded oddity (HTML, HTTP 500 or 301, grpc-status garbage, a message prefix of 4 GiB, a
 * compressed flag, undecodable bytes, resets, GOAWAY, a destroyed session, 20 KB grpc-message
 * trailers, 50 empty messages, window settings of 0 and 2^31-1). Every agent must still run at
 * the end (they reconnect with backoff, so a minute sees about 30 streams each).
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { AgentProc } from '../agents/agent-procs.js';
import { freePorts } from '../helpers/free-ports.js';
import { Rng } from './h2-burst.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const prefix = (length: number, compressed = false): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = compressed ? 1 : 0;
  b.writeUInt32BE(length >>> 0, 1);
  return b;
};
const GRPC = { ':status': 200, 'content-type': 'application/grpc' } as const;

/** Answers `st` with oddity `kind`. */
function answer(st: http2.ServerHttp2Stream, kind: number, rng: Rng): void {
  switch (kind) {
    case 0:
      st.respond({ ':status': 200, 'content-type': 'text/html' });
      st.end('<html>');
      return;
    case 1:
      st.respond({ ':status': rng.pick([500, 204, 301, 404]) });
      st.end();
      return;
    case 2:
      st.respond({ ...GRPC, 'grpc-status': 'abc', 'grpc-message': '%%%' }, { endStream: true });
      return;
    case 3:
      st.respond(GRPC);
      st.end(prefix(0xffffffff));
      return;
    case 4:
      st.respond(GRPC);
      st.write(Buffer.concat([prefix(3, true), Buffer.from('abc')]));
      return;
    case 5:
      st.respond(GRPC);
      st.write(Buffer.concat([prefix(10), Buffer.alloc(10, 0xff)]));
      return;
    case 6:
      st.close(rng.pick([0, 1, 2, 7, 8, 11]));
      return;
    case 7:
      st.session?.goaway(rng.pick([0, 2, 11]), 0);
      return;
    case 8:
      st.session?.destroy();
      return;
    case 9:
      st.respond(GRPC, { waitForTrailers: true });
      st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': rng.pick(['0', '99', '-1', '', '14']), 'grpc-message': 'x'.repeat(rng.pick([0, 10, 20_000])) }));
      st.end();
      return;
    case 10:
      st.respond(GRPC);
      st.write(prefix(2));
      setTimeout(() => st.close(8), 5);
      return;
    case 11:
      st.respond(GRPC);
      for (let i = 0; i < 50; i++) st.write(prefix(0));
      return;
    case 12:
      st.respond(GRPC);
      st.session?.settings({ initialWindowSize: rng.pick([0, 2 ** 31 - 1]) });
      st.write(Buffer.concat([prefix(1), Buffer.from([0x08])]));
      return;
    default:
      st.respond(GRPC);
      st.end(Buffer.concat([prefix(2), Buffer.from([0x08, 0x01])]));
  }
}

const seed = Number(arg('seed') ?? 1);
const count = Number(arg('agents') ?? 4);
const seconds = Number(arg('seconds') ?? 60);
const rng = new Rng(seed);
let streams = 0;
let threw = 0;
const server = http2.createServer();
server.on('session', (s) => s.on('error', () => undefined));
server.on('stream', (st) => {
  st.on('error', () => undefined);
  streams++;
  try {
    answer(st, rng.int(14), rng);
  } catch {
    threw++; // the server's own misuse of a stream the agent already closed: not the agent's
  }
});
const [port] = (await freePorts(1)) as [number];
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-controller-'));
const agents = Array.from({ length: count }, (_, i) => new AgentProc({ id: `fz${i}`, controllers: `127.0.0.1:${port}`, dir }).start());
console.log(`hostile-controller: seed ${seed}, ${count} agents, ${seconds} s`);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const dead = agents.filter((a) => a.child === null);
for (const a of dead) console.log(`agent ${a.opts.id} exited (${a.exitCode}):\n${a.tail()}`);
await Promise.all(agents.map((a) => a.kill()));
server.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ streams, serverThrew: threw, agents: count, exited: dead.length }));
if (dead.length > 0) process.exitCode = 1;
