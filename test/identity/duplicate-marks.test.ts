/**
 * What a node keeps of second processes for the operator (src/identity/duplicate-marks.ts): a
 * member is marked once a second process is proven (heard beside the holder past the hold), for
 * the window after it was last heard, and for as long as the process it admits is one that was
 * proven (a copy that took the id over); a refusal alone, as a quick restart draws, marks
 * nothing. Peers refusing this node count once their refusals outlast a restart's.
 */
import t from 'tap';
import { describeDuplicate, describeRefusedAsDuplicate, DuplicateMarks } from '../../src/identity/duplicate-marks.js';

const WINDOW = 60_000;
const HOLD = 2_000;
const [REAL, COPY, RESTART] = ['00000000000000e1', '00000000000000c0', '00000000000000e2'];

void t.test('a proven second process marks the member for the window after it was last heard', async (t) => {
  const marks = new DuplicateMarks(WINDOW, HOLD);
  marks.note('c2', REAL, true, 1_000);
  t.equal(marks.mark('c2', 1_000), null, 'one process: nothing to say');
  marks.note('c2', COPY, false, 2_000);
  t.equal(marks.mark('c2', 2_000), null, 'refused, not proven: a quick restart looks the same');
  marks.proven('c2', COPY, 4_500);
  t.strictSame(marks.mark('c2', 5_000), { secondMsAgo: 500, holderWasProven: false });
  marks.note('c2', COPY, false, 10_000);
  t.strictSame(marks.mark('c2', 10_000 + WINDOW), { secondMsAgo: WINDOW, holderWasProven: false }, 'counted from its last refusal');
  t.equal(marks.mark('c2', 10_001 + WINDOW), null, 'gone once the window has passed');
  t.equal(marks.mark('c3', 5_000), null, 'another member is apart');
});

void t.test('a quick restart, refused until its predecessor fell silent for the hold, marks nothing', async (t) => {
  const marks = new DuplicateMarks(WINDOW, HOLD);
  marks.note('c2', REAL, true, 1_000);
  for (let now = 1_500; now < 3_000; now += 100) marks.note('c2', RESTART, false, now);
  marks.note('c2', RESTART, true, 3_100);
  t.equal(marks.mark('c2', 3_100), null);
  t.equal(marks.mark('c2', 3_100 + 10 * WINDOW), null);
});

void t.test('a proven process that took the id over keeps the member marked while it holds', async (t) => {
  const marks = new DuplicateMarks(WINDOW, HOLD);
  marks.note('c2', REAL, true, 1_000);
  marks.note('c2', COPY, false, 2_000);
  marks.proven('c2', COPY, 4_000);
  // The real one crashed; after its lock-out the copy is admitted.
  marks.note('c2', COPY, true, 70_000);
  t.strictSame(marks.mark('c2', 70_000 + 10 * WINDOW), { secondMsAgo: null, holderWasProven: true }, 'long after it was last refused');
  // The member's own restart (never proven a second process) clears it, once the window has passed.
  marks.note('c2', RESTART, true, 80_000);
  t.equal(marks.mark('c2', 80_000), null);
});

void t.test('an older version (no process id) is not judged', async (t) => {
  const marks = new DuplicateMarks(WINDOW, HOLD);
  marks.note('c2', '', false, 1_000);
  marks.note('c2', '', true, 1_000);
  t.equal(marks.mark('c2', 1_000), null);
});

void t.test('peers refusing this node count once their refusals outlast a restart, within two holds; removed ids are forgotten', async (t) => {
  const marks = new DuplicateMarks(WINDOW, HOLD);
  // c3 refuses for a restart's length, then no more: never named.
  for (let now = 1_000; now <= 1_000 + HOLD; now += 200) marks.refusedBy('c3', now);
  t.strictSame(marks.refusingPeers(1_000 + HOLD), []);
  // c1 refuses on and on: named once past the hold, until two holds after its last refusal.
  for (let now = 1_000; now <= 4_000; now += 200) marks.refusedBy('c1', now);
  t.strictSame(marks.refusingPeers(4_000), ['c1']);
  t.strictSame(marks.refusingPeers(4_000 + 2 * HOLD + 1), [], 'an old refusal no longer counts');
  // A gap longer than the hold starts the run over.
  marks.refusedBy('c1', 20_000);
  t.strictSame(marks.refusingPeers(20_000), []);
  for (let now = 20_200; now <= 23_000; now += 200) marks.refusedBy('c1', now);
  marks.refusedBy('c3', 23_000);
  for (let now = 23_200; now <= 26_000; now += 200) marks.refusedBy('c3', now);
  t.strictSame(marks.refusingPeers(26_000), ['c1', 'c3'], 'in id order');
  marks.proven('c2', COPY, 26_000);
  marks.retain((id) => id !== 'c1' && id !== 'c2');
  t.strictSame(marks.refusingPeers(26_000), ['c3']);
  t.equal(marks.mark('c2', 26_000), null);
});

void t.test('the words: code, member, what the one shown may be', async (t) => {
  t.equal(
    describeDuplicate('c1', { secondMsAgo: 1234.4, holderWasProven: false }),
    'DUPLICATE_PROCESS: two processes speak as c1 (a second process was heard beside it 1234ms ago); the one shown may be a copy of its data dir',
  );
  t.match(describeDuplicate('c1', { secondMsAgo: null, holderWasProven: true }), /\(the process heard now took the id over after it was proven a second process\);/);
  t.match(
    describeDuplicate('c1', { secondMsAgo: 20, holderWasProven: true }),
    /\(the process heard now took the id over after it was proven a second process, a second process was heard beside it 20ms ago\)/,
    'the takeover first',
  );
  t.equal(describeRefusedAsDuplicate('c2', []), '');
  t.equal(
    describeRefusedAsDuplicate('c2', ['c1', 'c3']),
    'c1, c3 refuse it as DUPLICATE_PROCESS: another process speaks as c2 (docs/operate.md, DUPLICATE_PROCESS)',
  );
  t.match(describeRefusedAsDuplicate('c2', ['c1']), /^c1 refuses it as/);
});
