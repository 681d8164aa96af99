/**
 * What a batch says of where its sender stood (src/identity/process-claims.ts, `spokenAt`), and
 * what that lets a copy of a member's data dir do beside the member's process (`ProcessClaims`).
 */
import t from 'tap';
import { ProcessClaims, spokenAt } from '../../src/identity/process-claims.js';
import type { Message } from '../../src/raft/messages.js';

const HOLD_MS = 1000;

const preVoteGranted = (term: number): Message => ({ type: 'PreVoteResp', from: 'c2', to: 'c1', term, reject: false });
const preVoteRefused = (term: number): Message => ({ type: 'PreVoteResp', from: 'c2', to: 'c1', term, reject: true });
const heartbeatResp = (term: number): Message => ({ type: 'HeartbeatResp', from: 'c2', to: 'c1', term, context: '' });
const appendResp = (term: number, index: number): Message => ({ type: 'AppendResp', from: 'c2', to: 'c1', term, reject: false, index, rejectHint: 0, hintTerm: 0 });
const preVote = (term: number, lastLogIndex: number): Message => ({ type: 'PreVote', from: 'c2', to: 'c1', term, lastLogIndex, lastLogTerm: term - 1, commit: 0 });

/** `claims.admit` of a batch, as NodeIdentity does. */
function admitBatch(claims: ProcessClaims, boot: string, now: number, batch: readonly Message[]): ReturnType<ProcessClaims['admit']> {
  const at = spokenAt(batch);
  return claims.admit('c2', 'inc', boot, now, at?.term, at?.reach, at?.bare, at?.atMost);
}

void t.test("a granted pre-vote carries the candidate's campaign term, not its sender's: it says no term of the sender", async (t) => {
  t.equal(spokenAt([]), undefined);
  t.same(spokenAt([preVoteGranted(9)]), { term: undefined, reach: -1, bare: false, atMost: 9 }, 'a grant alone: no term, only that it was not above 9 (granted at its own term when it has no vote and no leader)');
  t.same(spokenAt([preVoteGranted(9), heartbeatResp(5)]), { term: 5, reach: -1, bare: true, atMost: 9 }, 'beside a message at its own term: that term');
  t.same(spokenAt([preVoteRefused(5)]), { term: 5, reach: -1, bare: true, atMost: 5 }, "a refusal carries the sender's own term");
  t.same(spokenAt([preVote(9, 37)]), { term: 8, reach: 37, bare: false, atMost: 8 }, "a pre-vote: one below the campaign's term, the candidate's own");
});

void t.test("a copy that grants a pre-vote for a candidate terms ahead is not taken for being ahead of the member's process", async (t) => {
  // The member's process is at term 5 and acknowledged entries up to 40. A candidate at term 8
  // whose log lacks them (it moved terms in a failed election) pre-votes at 9: the member refuses,
  // at term 5; a copy of the member's older data dir, which reaches the candidate (it answers at
  // the member's address), grants at 9. Read as spoken at term 8, the copy was ahead of every
  // message of the member, whose messages were then set aside as late ones of a crashed process:
  // the id fell to the copy a hold later, and its grant (and its vote) counted for the candidate.
  const claims = new ProcessClaims(HOLD_MS);
  t.same(admitBatch(claims, 'real', 0, [appendResp(5, 40)]), { refusal: null, replaced: null, proven: [], setAside: false }, 'the member, at term 5');
  t.match(admitBatch(claims, 'copy', 100, [preVoteGranted(9)]), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the copy grants: refused');
  t.match(admitBatch(claims, 'copy', 200, [preVoteGranted(9)]), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'and again');
  for (const at of [300, 600, 900]) {
    t.same(admitBatch(claims, 'real', at, [preVoteRefused(5)]), { refusal: null, replaced: null, proven: [], setAside: false }, `the member refuses at ${at} ms, at its term: it keeps the id`);
  }
  t.match(admitBatch(claims, 'copy', HOLD_MS + 50, [preVoteGranted(9)]), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the copy again, the member heard within the hold: refused');
  t.same(admitBatch(claims, 'real', HOLD_MS + 150, [heartbeatResp(5)]), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'the member beside it a hold after it first spoke: a second process');
  t.match(admitBatch(claims, 'copy', 3 * HOLD_MS, [preVoteGranted(9)]), { refusal: { code: 'DUPLICATE_PROCESS', reason: /refused until/ } }, 'and refused for the long hold, though the member is silent now');
});

void t.test("a crashed process's late grant, below its restart's term, is set aside still: its term was at most the candidate's", async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  admitBatch(claims, 'old', 0, [heartbeatResp(5)]);
  t.match(admitBatch(claims, 'new', 100, [preVote(10, 30)]), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'the restart campaigns from term 9');
  admitBatch(claims, 'new', 200, [preVote(10, 30)]);
  t.same(admitBatch(claims, 'old', HOLD_MS + 150, [preVoteGranted(7)]), { refusal: null, replaced: null, proven: [], setAside: true }, 'the old process granted a pre-vote at 7: it was at 7 at most, behind the restart');
  t.same(admitBatch(claims, 'new', HOLD_MS + 200, [preVote(10, 30)]), { refusal: null, replaced: 'old', proven: [], setAside: false }, 'the restart is taken: the old one is silent for the hold');
  const ahead = new ProcessClaims(HOLD_MS);
  admitBatch(ahead, 'old', 0, [heartbeatResp(5)]);
  admitBatch(ahead, 'new', 100, [preVote(10, 30)]);
  admitBatch(ahead, 'new', 200, [preVote(10, 30)]);
  admitBatch(ahead, 'old', 900, [heartbeatResp(9)]);
  t.same(admitBatch(ahead, 'old', HOLD_MS + 150, [preVoteGranted(11)]), { refusal: null, replaced: null, proven: ['new'], setAside: false }, 'a grant that may be at or above its term says nothing older: judged as showing none');
  const same = new ProcessClaims(HOLD_MS);
  admitBatch(same, 'old', 0, [heartbeatResp(5)]);
  admitBatch(same, 'new', 100, [preVote(10, 30)]);
  admitBatch(same, 'new', 200, [preVote(10, 30)]);
  admitBatch(same, 'old', 900, [heartbeatResp(9)]);
  t.same(admitBatch(same, 'old', HOLD_MS + 150, [preVoteGranted(9)]), { refusal: null, replaced: null, proven: ['new'], setAside: false }, "a grant at the other's own term (given with no vote and no leader) is not behind it");
});

void t.test('a batch showing no index beside one that does proves what it would prove alone', async (t) => {
  t.same(spokenAt([heartbeatResp(9), appendResp(9, 34)]), { term: 9, reach: 34, bare: true, atMost: 9 }, 'the index shown, and that a message at the term showed none');
  t.same(spokenAt([appendResp(9, 34), appendResp(9, 36)]), { term: 9, reach: 36, bare: false, atMost: 9 });
  t.same(spokenAt([heartbeatResp(8), appendResp(9, 34)]), { term: 9, reach: 34, bare: false, atMost: 9 }, 'one at a lower term does not count');
  // A copy at term 9 showing 37 entries; the member answers the leader's heartbeat and its append
  // in one batch. The heartbeat's answer alone proves the copy (no index: a restart and a copy
  // look alike, so it is judged as before); sent with the acknowledgement it must still.
  const claims = new ProcessClaims(HOLD_MS);
  admitBatch(claims, 'real', 0, [heartbeatResp(9)]);
  admitBatch(claims, 'copy', 100, [preVote(10, 37)]);
  admitBatch(claims, 'copy', 150, [preVote(10, 37)]);
  admitBatch(claims, 'real', 900, [heartbeatResp(9)]);
  admitBatch(claims, 'copy', HOLD_MS + 50, [preVote(10, 37)]);
  t.same(admitBatch(claims, 'real', HOLD_MS + 101, [heartbeatResp(9), appendResp(9, 34)]), { refusal: null, replaced: null, proven: ['copy'], setAside: false }, 'proven, as by the heartbeat answer alone');
  const ackOnly = new ProcessClaims(HOLD_MS);
  admitBatch(ackOnly, 'real', 0, [heartbeatResp(9)]);
  admitBatch(ackOnly, 'copy', 100, [preVote(10, 37)]);
  admitBatch(ackOnly, 'copy', 150, [preVote(10, 37)]);
  admitBatch(ackOnly, 'real', 900, [heartbeatResp(9)]);
  admitBatch(ackOnly, 'copy', HOLD_MS + 50, [preVote(10, 37)]);
  t.same(admitBatch(ackOnly, 'real', HOLD_MS + 101, [appendResp(9, 34)]), { refusal: null, replaced: null, proven: [], setAside: false }, 'an acknowledgement alone, within what the copy showed, proves nothing (contenders.ts, mayBeOlder)');
  const contender = new ProcessClaims(HOLD_MS);
  admitBatch(contender, 'real', 0, [heartbeatResp(9)]);
  admitBatch(contender, 'copy', 100, [heartbeatResp(9), appendResp(9, 37)]);
  admitBatch(contender, 'copy', 150, [heartbeatResp(9)]);
  admitBatch(contender, 'real', 900, [heartbeatResp(9)]);
  admitBatch(contender, 'copy', HOLD_MS + 50, [heartbeatResp(9)]);
  t.same(admitBatch(contender, 'real', HOLD_MS + 101, [appendResp(9, 36)]), { refusal: null, replaced: null, proven: [], setAside: false }, "a contender's batch counts the index it showed: what it holds is not forgotten beside a message showing none");
});
