/**
 * A big push in parts (src/agents/push-parts.ts, paced-frames.ts): the frames a controller
 * writes decode and join into exactly the push sent whole; the agent's assembler refuses parts
 * that do not add up; the paced writer lets a ping go between two parts and never splits a push.
 */
import t from 'tap';
import { MalformedMessageError } from '../../src/agents/errors.js';
import { PacedFrames } from '../../src/agents/paced-frames.js';
import { bodySlices, PUSH_PART_BYTES, PushAssembler } from '../../src/agents/push-parts.js';
import type { PushPlan } from '../../src/agents/push-planner.js';
import { decodeControllerWire, encodeControllerWire, type ControllerFrame } from '../../src/agents/sync-codec.js';
import { decodeControllerMessage, encodeControllerFrame, encodeControllerMessage, encodePushInParts, pushBody, type ControllerMessageWire } from '../../src/agents/wire.js';

const service = (i: number): PushPlan['upserts'][number] =>
  ({ kind: 'service', name: `svc-${i}`, spec: { protocol: 'http', ports: [8000 + (i % 1000)] }, labels: { note: 'x'.repeat(100) }, status: { vip: `10.0.${i >> 8}.${i & 255}` }, revision: i + 1 }) as unknown as PushPlan['upserts'][number];
const planOf = (n: number): PushPlan => ({ version: n + 1, baseVersion: null, upserts: Array.from({ length: n }, (_, i) => service(i)), removes: [] }) as unknown as PushPlan;
const wireOf = (f: ControllerFrame): ControllerMessageWire => decodeControllerWire(Buffer.isBuffer(f) ? f : encodeControllerWire(f));

void t.test('slices are views of at most a part each, covering the body in order', async (t) => {
  const body = new Uint8Array(40_000).map((_, i) => i & 255);
  const slices = bodySlices(body, 16_384);
  t.same(slices.map((s) => s.byteLength), [16_384, 16_384, 7_232]);
  t.equal(slices[1]!.buffer, body.buffer, 'views, not copies');
  t.same(Buffer.concat(slices), Buffer.from(body));
  t.same(bodySlices(new Uint8Array(0)).map((s) => s.byteLength), [0], 'an empty body is one empty slice');
  t.throws(() => bodySlices(body, 0), /partBytes must be positive/);
});

void t.test('a big push goes as parts and a PUSH ending them, which the agent joins into the push sent whole', async (t) => {
  const plan = planOf(400);
  const bytes = pushBody(plan).byteLength;
  t.ok(bytes > 3 * PUSH_PART_BYTES, `a body of ${bytes} bytes`);
  const push = { type: 'push' as const, nonce: 77, clusterId: 'k', plan };
  const frames = encodePushInParts(push).map(wireOf);
  t.equal(frames.length, Math.ceil(bytes / PUSH_PART_BYTES));
  t.ok(frames.slice(0, -1).every((f) => f.type === 'CONTROLLER_MESSAGE_PUSH_PART' && f.body.byteLength === PUSH_PART_BYTES && f.nonce === 0), 'parts carry body slices only');
  const last = frames[frames.length - 1]!;
  t.match(last, { type: 'CONTROLLER_MESSAGE_PUSH', nonce: 77, version: plan.version, parts: frames.length - 1 });
  const assembler = new PushAssembler(10 * bytes);
  for (const f of frames.slice(0, -1)) assembler.add(f);
  t.equal(assembler.heldBytes, (frames.length - 1) * PUSH_PART_BYTES);
  const joined = decodeControllerMessage(assembler.complete(last));
  t.same(joined, decodeControllerMessage(wireOf(encodeControllerFrame(push))), 'the same push as one sent whole');
  t.equal(assembler.heldBytes, 0, 'nothing held after');
  const other = wireOf(encodePushInParts({ ...push, nonce: 78 }).at(-1)!);
  t.equal(other.nonce, 78, "the parts are shared; each agent's ending PUSH has its nonce");
});

void t.test('a push that fits one part is one frame, the push whole', async (t) => {
  const push = { type: 'push' as const, nonce: 5, clusterId: 'k', plan: planOf(3) };
  const frames = encodePushInParts(push);
  t.equal(frames.length, 1);
  t.same(wireOf(frames[0]!), wireOf(encodeControllerFrame(push)));
  t.same(new PushAssembler(1024).complete(wireOf(frames[0]!)), wireOf(frames[0]!), 'passes the assembler unchanged');
});

void t.test('parts that do not add up are refused: a wrong count, too many bytes, an empty part, a part alone', async (t) => {
  const part = (n: number): ControllerMessageWire => ({ ...encodeControllerMessage({ type: 'ping', seq: 0, timeoutMs: 0 }), type: 'CONTROLLER_MESSAGE_PUSH_PART', body: new Uint8Array(n) });
  const ending = (parts: number): ControllerMessageWire => ({ ...encodeControllerMessage({ type: 'push', nonce: 1, clusterId: 'k', plan: planOf(1) }), parts });
  const a = new PushAssembler(100);
  a.add(part(40));
  t.throws(() => a.complete(ending(2)), { name: 'MalformedMessageError', message: /expected it to end 1 part\(s\), it says 2/ });
  t.throws(() => new PushAssembler(100).complete(ending(1)), /expected it to end 0 part\(s\), it says 1/, 'a PUSH claiming parts never sent');
  const b = new PushAssembler(100);
  b.add(part(60));
  t.throws(() => b.add(part(41)), /at most 100 bytes in all, found 101/);
  t.throws(() => new PushAssembler(100).add(part(0)), /found none/);
  t.throws(() => decodeControllerMessage(part(10)), MalformedMessageError, 'a part is never a message alone');
});

void t.test('the paced writer writes one frame at a time; a ping goes between parts; a later push waits its turn; close drops the rest', async (t) => {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const paced = new PacedFrames((frame, taken) => {
    written.push(String((frame as unknown as { name: string }).name));
    pending.push(taken);
  });
  const f = (name: string): ControllerFrame => ({ name }) as unknown as ControllerFrame;
  paced.write([f('p1'), f('p2'), f('push-a')]);
  t.same(written, ['p1'], 'the first part only');
  t.ok(paced.busy);
  written.push('ping'); // written straight to the stream meanwhile
  pending.shift()!();
  t.same(written, ['p1', 'ping', 'p2'], 'the ping went between the parts');
  paced.write([f('push-b')]);
  pending.shift()!();
  pending.shift()!();
  t.same(written, ['p1', 'ping', 'p2', 'push-a', 'push-b'], 'the later push after the whole of the first');
  pending.shift()!();
  t.notOk(paced.busy, 'idle once the last frame is taken');
  paced.write([f('q1'), f('q2')]);
  paced.close();
  pending.shift()!();
  t.same(written.slice(-1), ['q1'], 'nothing more after close');
  paced.write([f('q3')]);
  t.same(written.slice(-1), ['q1']);
});
