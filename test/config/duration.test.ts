import t from 'tap';
import { DurationError, formatDuration, parseDuration } from '../../src/config/duration.js';

void t.test('durations with ms, s, m and h parse to whole milliseconds', async (t) => {
  t.equal(parseDuration('100ms'), 100);
  t.equal(parseDuration('2s'), 2_000);
  t.equal(parseDuration('1.5s'), 1_500);
  t.equal(parseDuration('1.1s'), 1_100, 'decimal fractions are exact');
  t.equal(parseDuration('1m'), 60_000);
  t.equal(parseDuration('0.5m'), 30_000);
  t.equal(parseDuration('168h'), 604_800_000);
  t.equal(parseDuration(' 250ms '), 250, 'surrounding blanks are ignored');
  t.equal(parseDuration('0s'), 0, 'zero parses; the config refuses it where it matters');
});

void t.test('anything else is refused with a reason', async (t) => {
  const cases: readonly [string, RegExp][] = [
    ['', /empty/],
    ['100', /without a unit/],
    ['1.5', /without a unit/],
    ['-1s', /negative/],
    ['2 s', /expected a number followed by/],
    ['2S', /expected a number followed by/],
    ['1d', /unknown unit "d"/],
    ['1sec', /unknown unit "sec"/],
    ['1.5ms', /whole milliseconds/],
    ['.5s', /expected a number followed by/],
    ['1s500ms', /expected a number followed by/],
    ['s', /expected a number followed by/],
    ['99999999999999999999h', /too large/],
  ];
  for (const [input, reason] of cases) {
    t.throws(() => parseDuration(input), { name: 'DurationError', code: 'DURATION_INVALID', reason }, JSON.stringify(input));
  }
  const err = ((): unknown => {
    try {
      return parseDuration('5x');
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof DurationError);
  t.match((err as DurationError).message, /^invalid duration "5x": /, 'the message quotes the input');
});

void t.test('formatDuration renders the shortest exact unit and round-trips', async (t) => {
  t.equal(formatDuration(100), '100ms');
  t.equal(formatDuration(1_500), '1500ms');
  t.equal(formatDuration(2_000), '2s');
  t.equal(formatDuration(90_000), '90s');
  t.equal(formatDuration(120_000), '2m');
  t.equal(formatDuration(7_200_000), '2h');
  for (const ms of [1, 999, 1_000, 61_000, 3_600_000, 604_800_000]) {
    t.equal(parseDuration(formatDuration(ms)), ms, `${ms}ms round-trips`);
  }
});
