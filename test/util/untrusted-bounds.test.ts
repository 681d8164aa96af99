/**
 * Fields' rule-free readers (`intIn`, `stringIn`) and the words an error's place is written in
 * only when needed (src/util/untrusted.ts): the same answers and words as the rule-object
 * readers, and untrusted values refused with a message that names the field.
 */
import t from 'tap';
import { Fields, placeIn, type Place } from '../../src/util/untrusted.js';

const makeError = (m: string): Error => new Error(m);
const of = (raw: Record<string, unknown>, where: Place = 'x'): Fields => Fields.of(raw, where, makeError);

/** What a reader gives: the value, or the error's message. */
function outcome(read: () => unknown): unknown {
  try {
    return read();
  } catch (err) {
    return (err as Error).message;
  }
}

void t.test('intIn takes safe integers in its bounds and refuses everything else by name', async (t) => {
  const cases: readonly [unknown, number, number, unknown][] = [
    [0, 0, 10, 0],
    [10, 0, 10, 10],
    [-0, 0, 10, -0],
    [Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    [11, 0, 10, 'x: field "n" must be in [0, 10], found 11'],
    [-1, 0, 10, 'x: field "n" must be in [0, 10], found -1'],
    [1.5, 0, 10, 'x: field "n" must be an integer, found 1.5'],
    [2 ** 53, 0, Number.MAX_SAFE_INTEGER, `x: field "n" must be an integer, found ${2 ** 53}`],
    [Number.NaN, 0, 10, 'x: field "n" must be an integer, found NaN'],
    [Infinity, 0, 10, 'x: field "n" must be an integer, found Infinity'],
    ['3', 0, 10, 'x: field "n" must be an integer, found "3"'],
    [null, 0, 10, 'x: field "n" must be an integer, found null'],
    [undefined, 0, 10, 'x: field "n" must be an integer, found undefined'],
    [{ valueOf: () => 3 }, 0, 10, 'x: field "n" must be an integer, found an object'],
    [[3], 0, 10, 'x: field "n" must be an integer, found an array of 1'],
  ];
  for (const [value, min, max, want] of cases) {
    const got = outcome(() => of({ n: value }).intIn('n', min, max));
    t.ok(Object.is(got, want), `${String(value)} in [${min}, ${max}]: ${String(got)}`);
    t.ok(Object.is(outcome(() => of({ n: value }).int('n', { min, max })), got), 'int with the same bounds answers alike');
  }
  t.equal(outcome(() => of({ n: -5 }).int('n')), -5, 'int without a rule: any safe integer');
  t.equal(outcome(() => of({ n: 2 ** 53 }).int('n', { min: 0 })), `x: field "n" must be an integer, found ${2 ** 53}`);
});

void t.test('stringIn refuses non-strings, the empty string when told and too many UTF-8 bytes', async (t) => {
  t.equal(of({ s: 'abc' }).stringIn('s', true, 3), 'abc');
  t.equal(of({ s: '' }).stringIn('s', false, 3), '', 'the empty string when allowed');
  t.equal(of({ s: 'é'.repeat(300) }).stringIn('s', false, Infinity), 'é'.repeat(300), 'no bound');
  t.equal(outcome(() => of({ s: '' }).stringIn('s', true, 3)), 'x: field "s" must not be empty');
  t.equal(outcome(() => of({ s: 'éé' }).stringIn('s', false, 3)), 'x: field "s" must be at most 3 bytes, found 4', 'bytes, not chars');
  t.equal(outcome(() => of({ s: 7 }).stringIn('s', false, 3)), 'x: field "s" must be a string, found 7');
  t.equal(outcome(() => of({}).stringIn('s', true, 3)), 'x: field "s" must be a string, found undefined');
  for (const [value, rule] of [
    ['', { nonEmpty: true }],
    ['éé', { maxBytes: 3 }],
    ['abcd', { nonEmpty: true, maxBytes: 3 }],
    [null, {}],
    ['ok', {}],
  ] as const) {
    const got = outcome(() => of({ s: value }).string('s', rule));
    t.equal(got, outcome(() => of({ s: value }).stringIn('s', 'nonEmpty' in rule, 'maxBytes' in rule ? rule.maxBytes : Infinity)), `string and stringIn alike: ${String(got)}`);
  }
});

void t.test("a place given as a function is written only for an error, and then in the error's words", async (t) => {
  let written = 0;
  const place = (): string => {
    written++;
    return 'command.entries[7]';
  };
  const f = of({ n: 1, sync: { r: -1 } }, place);
  t.equal(f.intIn('n', 0, 10), 1);
  t.equal(written, 0, 'nothing written while the checks pass');
  const sync = Fields.of(f.raw['sync'], placeIn(place, '.sync'), makeError);
  t.equal(written, 0, "a field's place is not written either");
  t.equal(outcome(() => sync.intIn('r', 0, 10)), 'command.entries[7].sync: field "r" must be in [0, 10], found -1');
  t.equal(outcome(() => Fields.of(null, place, makeError)), 'command.entries[7]: expected an object, found null');
  t.equal(outcome(() => f.only(new Set(['n']))), 'command.entries[7]: unexpected field "sync"');
  t.equal(placeIn('a', '.b'), 'a.b', 'a string place stays a string');
});
