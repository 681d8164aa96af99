/**
 * Runs one connection's fuzz script against a server: the preface and an empty SETTINGS, then
 * the script's writes; it acknowledges the server's SETTINGS and answers its PINGs (a client
 * that does neither is ended for it, and that is not what is fuzzed), and notes which streams
 * the server answered, for the steps that reset a call once its answer started.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionScript } from './h2-burst.js';
import { FLAG, FRAME, PREFACE, frame, ping, settings } from '../helpers/h2-wire.js';

export interface ConnectionOutcome {
  readonly framesRead: number;
  readonly goaways: number[];
  /** Streams the server answered (sent HEADERS on). */
  readonly answered: number;
  /** Each GOAWAY's code and debug text, for a failure's report. */
  readonly goawayDetails: string[];
  /** The server closed the connection before we did. */
  readonly closedByServer: boolean;
}

const ANSWER_WAIT_MS = 200;
const LINGER_MS = 150;

export async function runConnection(host: string, port: number, secure: tls.ConnectionOptions | null, script: ConnectionScript): Promise<ConnectionOutcome> {
  const socket = secure === null ? net.connect(port, host) : tls.connect({ ...secure, host, port, ALPNProtocols: ['h2'] });
  socket.setNoDelay(true);
  let closed = false;
  let framesRead = 0;
  const goaways: number[] = [];
  const goawayDetails: string[] = [];
  const answered = new Set<number>();
  let lastMark = -1;
  const trace = (what: string): void => {
    if (process.env['H2FUZZ_TRACE'] === '1') console.log(`  [after op ${lastMark}: ${script.ops[lastMark] ?? ''}] ${what}`);
  };
  const waiters: Array<() => void> = [];
  let pending = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const type = pending[3]!;
      const flags = pending[4]!;
      const stream = pending.readUInt32BE(5) & 0x7fffffff;
      const payload = pending.subarray(9, 9 + length);
      framesRead++;
      if (type === FRAME.HEADERS) answered.add(stream);
      if (type === FRAME.RST_STREAM) trace(`RST_STREAM ${stream} code ${payload.readUInt32BE(0)}`);
      if (type === FRAME.GOAWAY) trace(`GOAWAY ${payload.readUInt32BE(4)} ${payload.subarray(8).toString()}`);
      if (type === FRAME.GOAWAY && payload.length >= 8) {
        goaways.push(payload.readUInt32BE(4));
        goawayDetails.push(`${payload.readUInt32BE(4)} last ${payload.readUInt32BE(0)} ${payload.subarray(8).toString()}`);
      }
      if (!closed && type === FRAME.PING && (flags & FLAG.ACK) === 0) socket.write(ping(true, Buffer.from(payload)));
      if (!closed && type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) socket.write(settings([], true));
      pending = pending.subarray(9 + length);
    }
    waiters.splice(0).forEach((w) => w());
  });
  const connected = await new Promise<boolean>((resolve) => {
    socket.once(secure === null ? 'connect' : 'secureConnect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!connected) return { framesRead, goaways, goawayDetails, answered: answered.size, closedByServer: true };
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
  const until = (cond: () => boolean, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const check = (): void => {
        if (cond() || closed) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  for (const step of script.steps) {
    if (closed) break;
    if (step.kind === 'write') socket.write(step.bytes);
    else if (step.kind === 'mark') {
      lastMark = step.op;
      await until(() => false, 20);
    } else if (step.kind === 'pause') await new Promise((resolve) => setImmediate(resolve));
    else if (step.kind === 'await-answer') await until(() => answered.has(step.stream), ANSWER_WAIT_MS);
    else {
      socket.destroy();
      return { framesRead, goaways, goawayDetails, answered: answered.size, closedByServer: false };
    }
  }
  await until(() => false, LINGER_MS);
  const closedByServer = closed;
  socket.destroy();
  return { framesRead, goaways, goawayDetails, answered: answered.size, closedByServer };
}
