/**
 * The bundled binaries run protobufjs without the `long` package (build/bundle-bins.ts: loading it
 * compiles a WebAssembly module), the unbundled code and these tests with it. Every uint64 field
 * must then read and write the same: the same bytes from the same object, the same numbers from
 * the same bytes, at the edges of 32 bits, 2^53 and beyond it.
 */
import t from 'tap';
import protobuf from 'protobufjs';
import { loadProto, lookupService } from '../../src/transport/proto.js';

const sync = lookupService(loadProto('agent.proto'), 'controller.agents.AgentSync').service.Sync!;
const EDGES = [0, 1, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 53 - 1] as const;

/** Runs `f` with protobufjs's `long` support taken away, as the bundles have it, then restores it. */
function withoutLong<T>(f: () => T): T {
  const util = protobuf.util as { Long: unknown };
  const saved = util.Long;
  util.Long = null;
  protobuf.configure();
  try {
    return f();
  } finally {
    util.Long = saved;
    protobuf.configure();
  }
}

/** A varint of 2^64 - 1: more than a number holds exactly, so both paths must round it alike. */
const MAX_UINT64_VERSION = Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);

void t.test('the long package is what the unbundled code runs with, so the comparison compares something', async (t) => {
  t.not((protobuf.util as { Long: unknown }).Long, null);
  const decoded = withoutLong(() => sync.requestDeserialize(MAX_UINT64_VERSION)) as { version: unknown };
  t.equal(typeof decoded.version, 'number');
});

void t.test('uint64 fields: the same bytes and the same numbers with and without long', async (t) => {
  for (const v of EDGES) {
    const agent = { type: 'AGENT_MESSAGE_ACK', agentId: 'a', version: v, nonce: v, seq: v, rejectedVersion: v };
    const controller = { type: 'CONTROLLER_MESSAGE_PUSH', nonce: v, version: v, baseVersion: v, seq: v, parts: 1 };
    const withLong = { agent: sync.requestSerialize(agent), controller: sync.responseSerialize(controller) };
    const without = withoutLong(() => ({ agent: sync.requestSerialize(agent), controller: sync.responseSerialize(controller) }));
    t.same(without.agent, withLong.agent, `AgentMessage bytes at ${v}`);
    t.same(without.controller, withLong.controller, `ControllerMessage bytes at ${v}`);

    const readWith = { agent: sync.requestDeserialize(withLong.agent), controller: sync.responseDeserialize(withLong.controller) };
    const readWithout = withoutLong(() => ({ agent: sync.requestDeserialize(withLong.agent), controller: sync.responseDeserialize(withLong.controller) }));
    t.strictSame(readWithout, readWith, `decoded objects at ${v}`);
    t.equal((readWithout.agent as { version: unknown }).version, v);
  }
});

void t.test('a value past 2^53 and the defaults of absent fields decode alike', async (t) => {
  const readWith = sync.requestDeserialize(MAX_UINT64_VERSION);
  const readWithout = withoutLong(() => sync.requestDeserialize(MAX_UINT64_VERSION));
  t.strictSame(readWithout, readWith);
  t.equal((readWithout as { version: unknown }).version, 2 ** 64);
  t.strictSame(withoutLong(() => sync.responseDeserialize(Buffer.alloc(0))), sync.responseDeserialize(Buffer.alloc(0)));
});
