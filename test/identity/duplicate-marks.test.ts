/**
 * What a node keeps of second processes for the operator (src/identity/duplicate-marks.ts): a
 * member is marked while a second process is refused and for the window after, and for as long
 * as the process it admits is one it once refused (a copy that took the id over); peers that
 * refuse this node count within their own window.
 */
import t from 'tap';
import { describeDuplicate, describeRefusedAsDuplicate, DuplicateMarks } from '../../src/identity/duplicate-marks.js';

const WINDOW = 60_000;
const REFUSER_WINDOW = 4_000;

void t.test('a refused second process marks the member for the window after the last refusal', async (t) => {
  const marks = new DuplicateMarks(WINDOW, REFUSER_WINDOW);
  marks.note('c2', 'real', true, 1_000);
  t.equal(marks.mark('c2', 1_000), null, 'one process: nothing to say');
  marks.note('c2', 'copy', false, 2_000);
  t.strictSame(marks.mark('c2', 2_500), { refusedMsAgo: 500, holderWasRefused: false });
  marks.note('c2', 'copy', false, 10_000);
  t.strictSame(marks.mark('c2', 10_000 + WINDOW), { refusedMsAgo: WINDOW, holderWasRefused: false }, 'counted from the last refusal');
  t.equal(marks.mark('c2', 10_001 + WINDOW), null, 'gone once the window has passed');
  t.equal(marks.mark('c3', 2_500), null, 'another member is apart');
});

void t.test('a process once refused that took the id over keeps the member marked while it holds', async (t) => {
  const marks = new DuplicateMarks(WINDOW, REFUSER_WINDOW);
  marks.note('c2', 'real', true, 1_000);
  marks.note('c2', 'copy', false, 2_000);
  // The real one crashed; after its lock-out the copy is admitted.
  marks.note('c2', 'copy', true, 70_000);
  t.strictSame(marks.mark('c2', 70_000 + 10 * WINDOW), { refusedMsAgo: null, holderWasRefused: true }, 'long after the last refusal');
  // A restart of the member (a process never refused) clears it, once the window has passed.
  marks.note('c2', 'restart', true, 80_000);
  t.equal(marks.mark('c2', 80_000), null);
});

void t.test('a process refused first and admitted later is marked; an older version (no process id) is not judged', async (t) => {
  const marks = new DuplicateMarks(WINDOW, REFUSER_WINDOW);
  marks.note('c2', '', false, 1_000);
  t.equal(marks.mark('c2', 1_000), null);
  marks.note('c2', 'b', false, 1_000);
  marks.note('c2', 'b', true, 1_000 + 2 * WINDOW);
  t.match(marks.mark('c2', 1_000 + 2 * WINDOW), { holderWasRefused: true });
});

void t.test('peers that refuse this node as a second process count within their window; removed ids are forgotten', async (t) => {
  const marks = new DuplicateMarks(WINDOW, REFUSER_WINDOW);
  marks.refusedBy('c3', 1_000);
  marks.refusedBy('c1', 2_000);
  t.strictSame(marks.refusingPeers(2_000), ['c1', 'c3'], 'in id order');
  t.strictSame(marks.refusingPeers(1_001 + REFUSER_WINDOW), ['c1'], 'an old refusal no longer counts');
  marks.note('c2', 'copy', false, 2_000);
  marks.retain((id) => id !== 'c1' && id !== 'c2');
  t.strictSame(marks.refusingPeers(2_000), ['c3']);
  t.equal(marks.mark('c2', 2_000), null);
});

void t.test('the words: code, member, what the one shown may be', async (t) => {
  t.equal(
    describeDuplicate('c1', { refusedMsAgo: 1234.4, holderWasRefused: false }),
    'DUPLICATE_PROCESS: two processes speak as c1 (a second process was refused 1234ms ago); the one shown may be a copy of its data dir',
  );
  t.match(describeDuplicate('c1', { refusedMsAgo: null, holderWasRefused: true }), /\(the process heard now took the id over from one it was refused beside\);/);
  t.match(
    describeDuplicate('c1', { refusedMsAgo: 20, holderWasRefused: true }),
    /\(the process heard now took the id over from one it was refused beside, a second process was refused 20ms ago\)/,
    'the takeover first',
  );
  t.equal(describeRefusedAsDuplicate('c2', []), '');
  t.equal(
    describeRefusedAsDuplicate('c2', ['c1', 'c3']),
    'c1, c3 refuse it as DUPLICATE_PROCESS: another process speaks as c2 (docs/operate.md, DUPLICATE_PROCESS)',
  );
  t.match(describeRefusedAsDuplicate('c2', ['c1']), /^c1 refuses it as/);
});
