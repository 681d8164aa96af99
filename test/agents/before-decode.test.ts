/**
 * What the hub's driver refuses before it parses a message's body (attack round 16): a hello
 * from a certificate that may not speak for the agent it names, a second hello, a reconnect
 * within the takeover interval, a usage report before the hello. Each is sent here with a body
 * that does not parse: refused for what it is, not as malformed, so the body was never read.
 * Before, every hello's body was parsed first (a manifest of 100,000 entries, tens of ms), and
 * four agent certificates sending 2 MB hellos as fast as they were refused cost a leader its term.
 */
import t from 'tap';
import type { SyncCall } from '../../src/agents/hub-driver.js';
import { encodeAgentMessage, MAX_USAGE_BODY_BYTES, decodeAgentMessage, type AgentMessageWire } from '../../src/agents/wire.js';
import { StateMachine } from '../../src/statemachine/index.js';
import { USAGE_BURST, USAGE_PER_SECOND } from '../../src/agents/hub.js';
import { ManualScheduler } from '../autopilot/manual-scheduler.js';
import { FakeCall, hubDriverOn } from './hub-driver-port.js';

/** An AgentSync stream whose client certificate names `cn`, keeping the statuses it is ended with. */
class CertificateCall extends FakeCall {
  readonly ended: { code: number; details: string }[] = [];
  constructor(cn: string, clock: () => number) {
    super(clock);
    this.authContext = { transportSecurityType: 'ssl', sslPeerCertificate: { subject: { CN: cn } } };
    this.on('error', (e: { code: number; details: string }) => this.ended.push(e));
  }
}

const HELLO = {
  type: 'hello' as const,
  agentId: 'edge-1',
  clusterId: '',
  clusterName: '',
  hasConfig: false,
  version: 0,
  manifest: [],
  rejectedVersion: null,
  pushParts: false,
  epoch: { boot: 'b1', seq: 1 },
  info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] },
  hosts: [],
};
/** A hello naming `agentId` whose body is not JSON: parsed, it is refused as malformed. */
const unparsable = (agentId: string): AgentMessageWire => ({ ...encodeAgentMessage({ ...HELLO, agentId }), body: new TextEncoder().encode('{"manifest": [[not json') });

function stage() {
  const time = new ManualScheduler();
  const sm = new StateMachine();
  const driver = hubDriverOn(sm, { readBarrier: () => Promise.resolve(), report: () => Promise.resolve(), meshReport: () => Promise.resolve() }, 'c1:decode', time);
  driver.start();
  const open = (cn: string): CertificateCall => {
    const call = new CertificateCall(cn, () => time.now());
    driver.serve(call as unknown as SyncCall);
    return call;
  };
  return { time, driver, open };
}

void t.test('a hello naming another agent than the certificate is refused before its body is read', async (t) => {
  const { driver, open } = stage();
  t.teardown(() => driver.stop());
  const call = open('edge-1');
  call.emit('data', unparsable('edge-2'));
  t.match(call.ended, [{ details: /the certificate identity "edge-1" cannot speak for agent "edge-2"/ }], 'refused for the identity (before: "hello.body: expected UTF-8 JSON")');
  // Each refused stream gives its certificate's slot back (4 streams per certificate).
  for (let i = 0; i < 10; i++) open('edge-1').emit('data', unparsable('edge-2'));
  const own = open('edge-1');
  own.emit('data', encodeAgentMessage(HELLO));
  t.same(own.ended, [], 'after 11 refusals, the certificate still opens its own stream');
  t.ok(own.written.some((w) => w.type === 'CONTROLLER_MESSAGE_WELCOME'), 'and is welcomed');
});

void t.test('a usage report before the hello is refused before its body is read', async (t) => {
  const { driver, open } = stage();
  t.teardown(() => driver.stop());
  const call = open('edge-1');
  call.emit('data', { ...encodeAgentMessage({ type: 'usage', missed: [], used: [] }), body: new TextEncoder().encode('[[[ not json') });
  t.match(call.ended, [{ details: /a usage report before the hello/ }], 'refused for its place (before: "usage.body: expected UTF-8 JSON")');
});

void t.test('a second hello, and a reconnect within the takeover interval, are refused before their bodies are read', async (t) => {
  const { time, driver, open } = stage();
  t.teardown(() => driver.stop());
  const first = open('edge-1');
  first.emit('data', encodeAgentMessage(HELLO));
  t.ok(first.written.some((w) => w.type === 'CONTROLLER_MESSAGE_WELCOME'), 'the first hello is welcomed');
  first.emit('data', unparsable('edge-1'));
  t.match(first.ended, [{ details: /a second hello on one stream/ }], 'a second hello (before: malformed)');
  time.advance(100);
  const again = open('edge-1');
  again.emit('data', unparsable('edge-1'));
  t.match(again.ended, [{ details: /agent "edge-1" connected here 100ms ago; a reconnect waits 1000ms/ }], 'a reconnect 100 ms after the claim (before: malformed)');
  time.advance(1000);
  const later = open('edge-1');
  later.emit('data', unparsable('edge-1'));
  t.match(later.ended, [{ details: /hello\.body: expected UTF-8 JSON/ }], 'past the interval the body is read, and refused as malformed');
});

void t.test('a usage body past what its names can take is refused before it is parsed', async (t) => {
  const names = (prefix: string): string[] => Array.from({ length: 256 }, (_, i) => `${prefix}${i}-`.padEnd(253, 'x'));
  const full = encodeAgentMessage({ type: 'usage', missed: names('m'), used: names('u') });
  t.ok(full.body.byteLength < MAX_USAGE_BODY_BYTES, `the largest usage our agent writes, ${full.body.byteLength} bytes, fits`);
  t.equal(decodeAgentMessage(full).type, 'usage');
  const padded = { ...full, body: new TextEncoder().encode(`{"missed": [${' '.repeat(MAX_USAGE_BODY_BYTES)}], "used": []}`) };
  t.throws(() => decodeAgentMessage(padded), /usage\.body: expected at most 524288 bytes \(256 names of each kind\), found 524\d+/);
});

void t.test("a stream's usage messages past 50 a second (after a burst of 100) are dropped unread", async (t) => {
  const { time, driver, open } = stage();
  t.teardown(() => driver.stop());
  const call = open('edge-1');
  call.emit('data', encodeAgentMessage({ ...HELLO, info: { ...HELLO.info, lazy: true } }));
  const usage = (i: number): AgentMessageWire => encodeAgentMessage({ type: 'usage', missed: [`dep-${i}`], used: [] });
  const garbage: AgentMessageWire = { ...usage(0), body: new TextEncoder().encode('[[[ not json') };
  for (let i = 0; i < USAGE_BURST; i++) call.emit('data', usage(i));
  call.emit('data', garbage);
  t.same(call.ended, [], 'the burst taken, the next message is not read: its body would have ended the stream as malformed (before: it did)');
  time.advance(1000);
  for (let i = 0; i < USAGE_PER_SECOND - 1; i++) call.emit('data', usage(i));
  t.same(call.ended, [], 'a second later, 50 more are taken');
  call.emit('data', garbage);
  t.match(call.ended, [{ details: /usage\.body: expected UTF-8 JSON/ }], 'the 50th of them is read, and refused as malformed');
});
