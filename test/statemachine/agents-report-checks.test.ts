/**
 * A report's entries are untrusted (a peer's bytes): each malformed one is refused with the
 * entry, the field and what was found, and nothing of the report applies.
 */
import t from 'tap';
import { CommandError, StateMachine, agentsKind, encodeCommand, validateReport } from '../../src/statemachine/index.js';

const syncEntry = (i: number): Record<string, unknown> => ({
  op: 'sync',
  id: `a${i}`,
  session: `s${i}`,
  sync: { sentVersion: 3, ackedVersion: 2, nackedVersion: null, lastError: null, resources: 1 },
  timeoutMs: 2000,
  pushes: 4,
});
const connectEntry = (i: number): Record<string, unknown> => ({
  op: 'connect',
  id: `a${i}`,
  session: `s${i}`,
  epoch: { boot: 'b1', seq: 1 },
  info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] },
  sync: { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 },
  timeoutMs: 2000,
  pushes: 0,
});

/** Entries 0-3 well formed, entry 2 changed by `spoil`. */
function entriesWith(spoil: (e: Record<string, unknown>) => void, make = syncEntry): Record<string, unknown>[] {
  const entries = [0, 1, 2, 3].map(make);
  spoil(entries[2]!);
  return entries;
}
const inSync = (f: (s: Record<string, unknown>) => void) => (e: Record<string, unknown>) => f(e['sync'] as Record<string, unknown>);

void t.test('malformed entries are refused with the entry, the field and what was found', async (t) => {
  const cases: readonly [string, Record<string, unknown>[], RegExp][] = [
    ['a version below 0', entriesWith(inSync((s) => (s['ackedVersion'] = -1))), /^command\.entries\[2\]\.sync: field "ackedVersion" must be in \[0, 9007199254740991\], found -1$/],
    ['a fractional version', entriesWith(inSync((s) => (s['sentVersion'] = 2.5))), /^command\.entries\[2\]\.sync: field "sentVersion" must be an integer, found 2\.5$/],
    ['a version as a string', entriesWith(inSync((s) => (s['sentVersion'] = '2'))), /^command\.entries\[2\]\.sync: field "sentVersion" must be an integer, found "2"$/],
    ['resources missing', entriesWith(inSync((s) => delete s['resources'])), /^command\.entries\[2\]\.sync: field "resources" must be an integer, found undefined$/],
    ['an unknown sync field', entriesWith(inSync((s) => (s['extra'] = 1))), /^command\.entries\[2\]\.sync: unexpected field "extra"$/],
    ['a long error', entriesWith(inSync((s) => (s['lastError'] = 'x'.repeat(1025)))), /^command\.entries\[2\]\.sync: field "lastError" must be at most 1024 bytes, found 1025$/],
    ['sync not an object', entriesWith((e) => (e['sync'] = [1])), /^command\.entries\[2\]\.sync: expected an object, found an array of 1$/],
    ['pushes past its bound', entriesWith((e) => (e['pushes'] = 1_000_001)), /^command\.entries\[2\]: field "pushes" must be in \[0, 1000000\], found 1000001$/],
    ['a timeout past 2^31-1', entriesWith((e) => (e['timeoutMs'] = 2 ** 31)), /^command\.entries\[2\]: field "timeoutMs" must be in \[0, 2147483647\], found 2147483648$/],
    ['an empty session', entriesWith((e) => (e['session'] = '')), /^command\.entries\[2\]: field "session" must not be empty$/],
    ['a bad id', entriesWith((e) => (e['id'] = '-a')), /^command\.entries\[2\]: field "id" must be letters/],
    ['an entry without op', entriesWith((e) => delete e['op']), /^command\.entries\[2\]: field "op" must be one of connect\|sync\|disconnect\|forget, found undefined$/],
    ['an entry that is no object', [syncEntry(0), null as unknown as Record<string, unknown>], /^command\.entries\[1\]: expected an object, found null$/],
    ['an unknown entry field', entriesWith((e) => (e['x'] = null)), /^command\.entries\[2\]: unexpected field "x"$/],
    ['a negative epoch seq', entriesWith((e) => ((e['epoch'] as Record<string, unknown>)['seq'] = -1), connectEntry), /^command\.entries\[2\]\.epoch: field "seq" must be in \[0, 9007199254740991\], found -1$/],
    ['an empty boot', entriesWith((e) => ((e['epoch'] as Record<string, unknown>)['boot'] = ''), connectEntry), /^command\.entries\[2\]\.epoch: field "boot" must not be empty$/],
    ['a bad protocol', entriesWith((e) => ((e['info'] as Record<string, unknown>)['protocols'] = ['h t']), connectEntry), /^command\.entries\[2\]\.info\.protocols\[0\]: expected a protocol name/],
    ['a connect sync field', entriesWith((e) => ((e['sync'] as Record<string, unknown>)['resources'] = -2), connectEntry), /^command\.entries\[2\]\.sync: field "resources" must be in/],
  ];
  for (const [what, entries, message] of cases) {
    const got = (() => {
      try {
        validateReport('c1', entries);
        return null;
      } catch (err) {
        return err;
      }
    })();
    t.ok(got instanceof CommandError, `${what}: refused as a command error`);
    t.match((got as Error | null)?.message ?? '', message, what);
    // The same words where the log's bytes are applied, and nothing of the report applied.
    const sm = new StateMachine();
    const r = sm.apply(1, encodeCommand({ kind: 'agents', op: 'report', controller: 'c1', entries } as never));
    t.match(r, { ok: false, code: 'INVALID', message }, `${what}: refused at apply`);
    t.equal(sm.view(agentsKind).size, 0, `${what}: no entry applied`);
  }
});

void t.test('well-formed entries pass, sync and connect alike', async (t) => {
  const report = validateReport('c1', [syncEntry(0), connectEntry(1), { op: 'disconnect', id: 'a2', session: 's2', reason: '', pushes: 0 }]);
  t.same(
    report.entries.map((e) => e.op),
    ['sync', 'connect', 'disconnect'],
  );
  t.same(report.entries[0], syncEntry(0));
});
