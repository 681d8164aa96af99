/** The leader's record of contact (src/node/peer-contact.ts): answers count, campaigns do not. */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { PeerContacts } from '../../src/node/peer-contact.js';

const clock = { now: 1_000 };
const at = (ms: number): void => void (clock.now = ms);
const appendResp = (from: string, term: number): Message => ({ type: 'AppendResp', from, to: 'c1', term, reject: false, index: 5, rejectHint: 0, hintTerm: 0 });
const preVote = (from: string, term: number): Message => ({ type: 'PreVote', from, to: 'c1', term, lastLogIndex: 5, lastLogTerm: 2, commit: 5 });
const vote = (from: string, term: number): Message => ({ type: 'Vote', from, to: 'c1', term, lastLogIndex: 5, lastLogTerm: 2, commit: 5, transfer: false });

void t.test('answers to the leader are contact, with their term; campaigns are neither', async (t) => {
  const contacts = new PeerContacts({ now: () => clock.now });
  at(1_000);
  contacts.note(appendResp('c2', 3));
  t.same(contacts.get('c2'), { lastHeardAt: 1_000, term: 3 });
  // c2 hears no leader any more (restarted where the leader cannot reach it) and campaigns.
  at(5_000);
  contacts.note(preVote('c2', 4));
  at(6_000);
  contacts.note(vote('c2', 4));
  t.same(contacts.get('c2'), { lastHeardAt: 1_000, term: 3 }, 'its last answer stands: the leader last heard it follow at 1,000');
  contacts.note(preVote('c3', 4));
  t.equal(contacts.get('c3'), null, 'a peer that only ever campaigned was never in contact');
  at(7_000);
  contacts.note(appendResp('c2', 3));
  t.same(contacts.get('c2'), { lastHeardAt: 7_000, term: 3 }, 'an answer again is contact again');
});
