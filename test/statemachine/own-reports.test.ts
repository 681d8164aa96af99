/**
 * The leader applies an agents' report it took from the form it checked (encodeParsed,
 * src/statemachine/command.ts): what it decodes is what a follower decodes from the same bytes,
 * field for field and in order, and its state ends the same; the exceptions (-0, a client tag
 * that does not decode, another registry) are decoded from the bytes as a follower does.
 */
import t from 'tap';
import {
  CommandError,
  DEFAULT_KINDS,
  KindRegistry,
  StateMachine,
  agentsKind,
  decodeCommand,
  encodeCommand,
  encodeParsed,
  validateReport,
  type ClientTag,
} from '../../src/statemachine/index.js';
import { exactlySame } from '../helpers/exactly-same.js';

const INFO = { protocols: ['tcp', 'http'], lazy: true, dependencies: ['zeta', 'alpha'], hosts: ['b.example', 'a.example'] };
const SYNC = { sentVersion: 4, ackedVersion: 3, nackedVersion: null, lastError: 'quote " backslash \\ newline \n tab \t é 世 🙂 lone \ud800 end', resources: 7 };
const NONE = { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 };

/** Raw entries as a peer sends them: every op, escapes, unsorted names, optional fields with and without. */
function entries(): Record<string, unknown>[] {
  return [
    { op: 'connect', id: 'a1', session: 's1', epoch: { boot: 'b"1', seq: 2 }, info: INFO, sync: NONE, timeoutMs: 2000, pushes: 0 },
    { op: 'connect', id: 'a2', session: 's2', epoch: { boot: 'b2', seq: 0 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, sync: SYNC, timeoutMs: 0, pushes: 3, opened: 1_700_000_000_000, seen: 12 },
    { op: 'connect', id: 'a3', session: 's3', epoch: { boot: 'b3', seq: 1 }, info: INFO, sync: NONE, timeoutMs: 1, pushes: 1, opened: 5 },
    { op: 'sync', id: 'a7', session: 's7', sync: SYNC, timeoutMs: 2 ** 31 - 1, pushes: 1_000_000 },
    { op: 'disconnect', id: 'a4', session: 's4', reason: '', pushes: 9 },
    { op: 'disconnect', id: 'a5', session: 's5', reason: 'gone \\ "away"', pushes: 0 },
    { op: 'forget', id: 'a6', session: 's6', reason: 'forgotten' },
  ];
}

const TAGS: readonly (ClientTag | null)[] = [null, { id: 'agents/c1', seq: 5 }, { id: 'agents/c1', seq: 0, retry: true }, { id: 'agents/c1', seq: 9, retry: false }];

void t.test("the leader's decode of a report it took is a follower's, without a second parse", async (t) => {
  for (const tag of TAGS) {
    const report = validateReport('c1', JSON.parse(JSON.stringify(entries())) as unknown[]);
    const data = encodeParsed(report, tag);
    const old = encodeCommand({ ...report, ...(tag === null ? {} : { client: tag }) });
    t.same(Buffer.from(data), Buffer.from(old), `tag ${JSON.stringify(tag)}: the bytes encodeCommand wrote`);
    const follower = decodeCommand(Uint8Array.from(data));
    const leader = decodeCommand(data);
    t.equal(leader.command, report, 'the checked form, not parsed again');
    t.equal(exactlySame(leader, follower), null, 'field for field and in order');
    t.not(decodeCommand(data).command, report, 'remembered for one decode only');
  }
});

void t.test('a report with a -0, a tag that does not decode, or another registry is decoded from its bytes', async (t) => {
  const withZero = entries();
  withZero[3]!['pushes'] = -0;
  const report = validateReport('c1', withZero);
  t.ok(Object.is((report.entries[3] as { pushes: number }).pushes, -0), 'the checks pass a -0');
  const data = encodeParsed(report, { id: 'agents/c1', seq: 1 });
  const leader = decodeCommand(data);
  t.not(leader.command, report, 'parsed again');
  t.equal(exactlySame(leader, decodeCommand(Uint8Array.from(data))), null, "a follower's form: 0");

  for (const bad of [{ id: 'agents/c1', seq: 2 ** 53 }, { id: 'x'.repeat(300), seq: 1 }, { id: 'agents/c1', seq: -1 }] as ClientTag[]) {
    const bytes = encodeParsed(validateReport('c1', entries()), bad);
    t.throws(() => decodeCommand(Uint8Array.from(bytes)), CommandError, `a follower refuses tag ${JSON.stringify(bad).slice(0, 40)}`);
    t.throws(() => decodeCommand(bytes), CommandError, 'and so does the leader');
  }

  const checked = validateReport('c1', entries());
  const handBuilt = { ...checked, entries: [...checked.entries].reverse() };
  t.not(decodeCommand(encodeParsed(handBuilt, null)).command, handBuilt, 'a report not built by the parse (review54b) is parsed from its bytes');
  t.equal(decodeCommand(encodeParsed(checked, null)).command, checked, 'the parse output is remembered');
  t.not(decodeCommand(encodeParsed(checked, null)).command, checked, 'once: the same object encoded again (maybe changed since) is parsed from its bytes');

  const other = new KindRegistry(DEFAULT_KINDS);
  const plain = validateReport('c1', entries());
  const bytes = encodeParsed(plain, null);
  t.not(decodeCommand(bytes, other).command, plain, 'another registry parses the bytes');
});

void t.test("a state machine applying its own reports ends where one applying the bytes received does", async (t) => {
  const leader = new StateMachine();
  const follower = new StateMachine();
  const rounds: Record<string, unknown>[][] = [
    entries().slice(0, 3),
    [{ op: 'sync', id: 'a1', session: 's1', sync: SYNC, timeoutMs: 1500, pushes: 2 }],
    [{ op: 'sync', id: 'a2', session: 's2', sync: { ...SYNC, nackedVersion: 5, lastError: 'bad \ud83d' }, timeoutMs: 1500, pushes: 4 }],
    [{ op: 'disconnect', id: 'a3', session: 's3', reason: 'closed', pushes: 2 }],
    [{ op: 'forget', id: 'a3', session: 's3', reason: 'gone' }],
  ];
  for (const [i, round] of rounds.entries()) {
    const data = encodeParsed(validateReport('c1', round), { id: 'agents/c1', seq: i + 1 });
    const copy = Uint8Array.from(data);
    t.same(leader.apply(i + 1, data), follower.apply(i + 1, copy), `round ${i + 1}: the same result`);
  }
  t.equal(exactlySame(leader.view(agentsKind).list(), follower.view(agentsKind).list()), null, 'the same records');
  t.same(Buffer.from(leader.snapshot()), Buffer.from(follower.snapshot()), 'the same snapshot');
  t.same(
    leader.view(agentsKind).list().map((r) => `${r.id} ${r.online} ${r.pushes}`),
    ['a1 true 2', 'a2 true 7', 'a3 false 3'],
    'the records the rounds leave (pushes summed; a forget below its cluster version changes nothing)',
  );
});
