/**
 * An HTTP/2 server in a child process, so a test can freeze it (SIGSTOP) and make every
 * connection to it go silent, as a paused VM or a partition that drops packets does. It counts
 * the connections (sessions) it gets. `mute` takes every stream and never answers; `echo`
 * answers each message of a gRPC call with a two-byte one ("ok").
 */
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import { guardChild } from './reaper.js';
import { waitFor } from './wait-for.js';

export interface H2ServerProcess {
  readonly address: string;
  /** SIGSTOP: its connections go silent. */
  stop(): void;
  resume(): void;
  /** Connections it has taken. */
  sessions(): number;
}

const ON_STREAM = {
  mute: `s.on('stream', (st) => st.on('error', () => {}));`,
  echo: `s.on('stream', (st) => { st.on('error', () => {}); st.respond({ ':status': 200, 'content-type': 'application/grpc' }); st.on('data', () => st.write(Buffer.from([0, 0, 0, 0, 2, 111, 107]))); });`,
} as const;

export async function h2ServerProcess(t: Test, streams: keyof typeof ON_STREAM): Promise<H2ServerProcess> {
  const script = `const h2 = require('node:http2'); let n = 0; const s = h2.createServer();
s.on('session', (x) => { console.log('session ' + ++n); x.on('error', () => {}); });
${ON_STREAM[streams]}
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  guardChild(child);
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const lines: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => lines.push(...d.trim().split('\n')));
  await waitFor(() => lines.length > 0, `the ${streams} HTTP/2 server to listen`);
  return {
    address: `127.0.0.1:${lines[0]}`,
    stop: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    sessions: () => lines.filter((l) => l.startsWith('session ')).length,
  };
}
