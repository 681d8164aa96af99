/** One process per member id (src/identity/process-claims.ts): a copy is refused, a restart taken. */
import t from 'tap';
import { PROVEN_HOLDS, ProcessClaims } from '../../src/identity/process-claims.js';

const HOLD_MS = 1000;

void t.test('a second process heard beside the first is refused for as long as it runs, even once the first falls silent', async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  t.same(claims.admit('c2', 'inc', 'real', 0), { refusal: null, replaced: null, proven: [], setAside: false }, 'the first heard holds the id');
  const copy = claims.admit('c2', 'inc', 'copy', 100);
  t.match(copy, { refusal: { code: 'DUPLICATE_PROCESS', reason: /^another process speaks as c2: process real was heard 100ms ago and process copy speaks too\. If copy is c2's restart, it is taken once real has been silent for \d+ms; if both go on speaking, a copy of c2's data dir runs/ } });
  t.match(copy.refusal?.reason, /if both go on speaking, a copy of c2's data dir runs \(docs\/operate\.md, DUPLICATE_PROCESS\)$/, 'not yet called a copy: a quick restart draws the same refusal');
  t.same(claims.admit('c2', 'inc', 'real', 200), { refusal: null, replaced: null, proven: [], setAside: false }, 'the first speaks again: it may be what a crashed process sent before its restart');
  t.same(claims.admit('c2', 'inc', 'real', 100 + HOLD_MS), { refusal: null, replaced: null, proven: [], setAside: false });
  t.match(claims.admit('c2', 'inc', 'copy', 100 + HOLD_MS), { refusal: { code: 'DUPLICATE_PROCESS' } });
  t.same(claims.admit('c2', 'inc', 'real', 101 + HOLD_MS), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'both speaking a hold after the copy appeared: the copy is a second process');
  // The real process freezes: its silence must not hand the id to the copy.
  const frozenAt = 101 + HOLD_MS;
  const later = claims.admit('c2', 'inc', 'copy', frozenAt + PROVEN_HOLDS * HOLD_MS);
  t.match(later, { refusal: { code: 'DUPLICATE_PROCESS', reason: new RegExp(`process copy spoke as c2 while process real was heard, and is refused until that one has been silent for ${PROVEN_HOLDS * HOLD_MS}ms`) } });
  t.same(claims.admit('c2', 'inc', 'real', frozenAt + PROVEN_HOLDS * HOLD_MS), { refusal: null, replaced: null, proven: [], setAside: false }, 'the first, back, holds it still');
  t.same(claims.admit('c2', 'inc', 'restart', frozenAt + (PROVEN_HOLDS + 1) * HOLD_MS + 1), { refusal: null, replaced: 'real', proven: [], setAside: false }, 'a new process after the first fell silent: its restart');
  t.match(claims.admit('c2', 'inc', 'copy', frozenAt + (PROVEN_HOLDS + 1) * HOLD_MS + 2), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the copy, beside it, refused');
  t.same(claims.admit('c2', 'inc', 'copy', frozenAt + (2 * PROVEN_HOLDS + 2) * HOLD_MS), { refusal: null, replaced: 'restart', proven: [], setAside: false }, 'taken only after the holder was silent for the long hold: a wrong proof does not shut a member out for ever');
});

void t.test('a restart heard before the old process was silent for the hold is refused, then taken; late messages of the old one prove nothing', async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  claims.admit('c2', 'inc', 'old', 0);
  t.match(claims.admit('c2', 'inc', 'new', 300), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'too soon: the old one may still run');
  t.match(claims.admit('c2', 'inc', 'new', HOLD_MS), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'silent exactly the hold: still refused');
  t.same(claims.admit('c2', 'inc', 'new', HOLD_MS + 1), { refusal: null, replaced: 'old', proven: [], setAside: false }, 'the old one never spoke again: taken');
  const late = new ProcessClaims(HOLD_MS);
  late.admit('c2', 'inc', 'old', 0);
  late.admit('c2', 'inc', 'new', 300);
  t.same(late.admit('c2', 'inc', 'old', 5 * HOLD_MS), { refusal: null, replaced: null, proven: [], setAside: false }, "the old one's message, seconds late after a partition, while the new one is quiet");
  t.match(late.admit('c2', 'inc', 'new', 5 * HOLD_MS + 1), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the new one waits again');
  t.same(late.admit('c2', 'inc', 'new', 6 * HOLD_MS + 1), { refusal: null, replaced: 'old', proven: [], setAside: false }, 'and is taken once the old one is silent for the hold: nothing was proven');
  t.match(claims.admit('c2', 'inc', 'old', HOLD_MS + 2), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'a late message of the old process is refused');
  t.same(claims.admit('c2', 'inc', 'new', HOLD_MS + 3), { refusal: null, replaced: null, proven: [], setAside: false }, 'and proves nothing against it');
  t.same(claims.admit('c2', 'inc', 'new', 3 * HOLD_MS), { refusal: null, replaced: null, proven: [], setAside: false }, 'the old one quiet since: nothing proven');
  t.match(claims.admit('c2', 'inc', 'old', 3 * HOLD_MS + 1), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the old one again, after a silence longer than the hold: its proof starts over');
  t.same(claims.admit('c2', 'inc', 'new', 3 * HOLD_MS + 2), { refusal: null, replaced: null, proven: [], setAside: false }, 'late messages seconds apart are not a process running beside it');
  t.match(claims.admit('c2', 'inc', 'old', 3.5 * HOLD_MS), { refusal: { code: 'DUPLICATE_PROCESS' } });
  t.match(claims.admit('c2', 'inc', 'old', 4 * HOLD_MS + 1), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'it speaks on, never silent for a hold');
  t.same(claims.admit('c2', 'inc', 'new', 4 * HOLD_MS + 2), { refusal: null, replaced: null, proven: ['old'], setAside: false }, 'the new one heard beside the old one, a hold after the old one first was refused: proven');
  t.match(claims.admit('c2', 'inc', 'old', 4 * HOLD_MS + 3), { refusal: { reason: /is refused until that one has been silent/ } }, 'heard again beside the new one, a hold after it first was: proven');
});

void t.test('members are judged apart, and a sender of an older version (no boot id) is not judged', async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  t.same(claims.admit('c2', 'inc', 'aaaa', 0), { refusal: null, replaced: null, proven: [], setAside: false });
  t.same(claims.admit('c3', 'inc', 'bbbb', 1), { refusal: null, replaced: null, proven: [], setAside: false }, 'another member, another claim');
  t.same(claims.admit('c2', 'inc', '', 2), { refusal: null, replaced: null, proven: [], setAside: false });
  t.match(claims.admit('c2', 'inc', 'cccc', 3), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'an empty boot id took nothing over');
});

void t.test("processes of another data dir of the member are not this one's contenders", async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  t.same(claims.admit('c2', 'old-dir', 'a', 0), { refusal: null, replaced: null, proven: [], setAside: false });
  t.same(claims.admit('c2', 'rebuilt-dir', 'b', 1), { refusal: null, replaced: null, proven: [], setAside: false }, 'a rebuilt member beside its old process: the identity rules judge the old incarnation');
  t.match(claims.admit('c2', 'rebuilt-dir', 'c', 2), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'a copy of the rebuilt data dir is refused');
});

void t.test("a crashed process's late messages, at terms behind its restart's, neither hold the id nor prove the restart a copy (seed 566)", async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  t.same(claims.admit('c2', 'inc', 'old', 0, 14), { refusal: null, replaced: null, proven: [], setAside: false }, 'the old process speaks at term 14, then crashes');
  // Its restart resumes at term 14 from disk and moves on to 15; the old one's messages, held by
  // a partition, arrive beside it for longer than the hold.
  t.match(claims.admit('c2', 'inc', 'new', 100, 14), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the restart, too soon: refused');
  t.match(claims.admit('c2', 'inc', 'new', 150, 15), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'and again, at term 15');
  for (const at of [300, 600, 900, 990]) {
    t.same(claims.admit('c2', 'inc', 'old', at, 14), { refusal: null, replaced: null, proven: [], setAside: true }, `a late message of the old process at ${at} ms, term 14: proves nothing`);
    t.match(claims.admit('c2', 'inc', 'new', at + 1, 15), { refusal: { code: 'DUPLICATE_PROCESS' } });
  }
  t.same(claims.admit('c2', 'inc', 'new', HOLD_MS + 1, 15), { refusal: null, replaced: 'old', proven: [], setAside: false }, 'the old one silent at the current term for the hold: the restart is taken, on time');
  t.match(claims.admit('c2', 'inc', 'old', HOLD_MS + 100, 14), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the old one is now the one refused');
  t.same(claims.admit('c2', 'inc', 'new', HOLD_MS + 101, 15), { refusal: null, replaced: null, proven: [], setAside: false });

  // A second live process follows the same cluster, so it speaks at the current term: proven as before.
  const copies = new ProcessClaims(HOLD_MS);
  copies.admit('c2', 'inc', 'real', 0, 15);
  t.match(copies.admit('c2', 'inc', 'copy', 100, 15), { refusal: { code: 'DUPLICATE_PROCESS' } });
  t.same(copies.admit('c2', 'inc', 'real', 300, 14), { refusal: null, replaced: null, proven: [], setAside: false }, 'a message of the holder behind the copy (sent before it heard term 15) proves nothing yet');
  t.match(copies.admit('c2', 'inc', 'copy', 200 + HOLD_MS / 2, 15), { refusal: { code: 'DUPLICATE_PROCESS' } });
  t.match(copies.admit('c2', 'inc', 'copy', 100 + HOLD_MS, 15), { refusal: { code: 'DUPLICATE_PROCESS' } });
  t.same(copies.admit('c2', 'inc', 'real', 101 + HOLD_MS, 15), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'both at the current term a hold after the copy first spoke: the copy is a second process');
  t.same(copies.admit('c2', 'inc', 'real', 102 + HOLD_MS), { refusal: null, replaced: null, proven: [], setAside: false }, 'a ping carries no term and speaks as before');
});

void t.test("a crashed leader's late heartbeats, at its restart's term and no further in the log, hold the id but prove no copy (seed 10243)", async (t) => {
  // The old process led term 9 and had committed 34; its restart resumes at term 9 with 37
  // entries and campaigns (a pre-vote shows its log). The old one's heartbeats, held by a slow
  // link, arrive beside it for longer than the hold: with every one proving the restart a copy,
  // the two voters left had no leader for the 30 holds.
  const claims = new ProcessClaims(HOLD_MS);
  t.same(claims.admit('c2', 'inc', 'old', 0, 9, 34), { refusal: null, replaced: null, proven: [], setAside: false }, 'the leader of term 9, commit 34');
  t.match(claims.admit('c2', 'inc', 'new', 100, 9), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'its restart refuses a pre-vote (term 9, no log shown): too soon');
  t.match(claims.admit('c2', 'inc', 'new', 150, 9, 37), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'and campaigns at term 9 with 37 entries');
  for (const at of [300, 600, 900, HOLD_MS + 150]) {
    t.same(claims.admit('c2', 'inc', 'old', at, 9, 34), { refusal: null, replaced: null, proven: [], setAside: false }, `a late heartbeat at ${at} ms, term 9, commit 34: the id stays held, nothing proven`);
    t.match(claims.admit('c2', 'inc', 'new', at + 50, 9, 37), { refusal: { code: 'DUPLICATE_PROCESS' } });
  }
  t.same(claims.admit('c2', 'inc', 'new', 2 * HOLD_MS + 151, 9, 37), { refusal: null, replaced: 'old', proven: [], setAside: false }, 'the old one silent for the hold: the restart is taken, not locked out for 30 holds');

  // A copy of that leader, beside it: the leader goes on, and what it says soon shows more than
  // the copy's data dir held.
  const beside = (): ProcessClaims => {
    const c = new ProcessClaims(HOLD_MS);
    c.admit('c2', 'inc', 'real', 0, 9, 34);
    c.admit('c2', 'inc', 'copy', 100, 9, 37);
    c.admit('c2', 'inc', 'copy', 150, 9, 37);
    c.admit('c2', 'inc', 'real', 900, 9, 34);
    c.admit('c2', 'inc', 'copy', HOLD_MS + 50, 9, 37);
    return c;
  };
  t.same(beside().admit('c2', 'inc', 'real', HOLD_MS + 101, 9, 38), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, "a heartbeat committing 38, beyond the copy's log: proven");
  t.same(beside().admit('c2', 'inc', 'real', HOLD_MS + 101, 10, 34), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'a message at a later term: proven');
  t.same(beside().admit('c2', 'inc', 'real', HOLD_MS + 101), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'a ping carries neither: proven as before');
  t.same(beside().admit('c2', 'inc', 'real', HOLD_MS + 101, 9), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'a message at the term showing no index: proven as before');
  const quiet = beside();
  t.same(quiet.admit('c2', 'inc', 'real', HOLD_MS + 101, 9, 34), { refusal: null, replaced: null, proven: [], setAside: false }, 'one showing no more than the copy holds: not proven');
  t.match(quiet.admit('c2', 'inc', 'copy', 2 * HOLD_MS, 9, 37), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'but refused still, the id held by the one heard');
});
