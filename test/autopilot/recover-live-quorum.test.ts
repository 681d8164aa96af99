/** `controller recover` refuses while the other voters still run as a quorum (src/recover/live-quorum.ts). */
import t from 'tap';
import { liveQuorumRefusal, votersToAsk } from '../../src/recover/live-quorum.js';

const three = { voters: ['c1', 'c2', 'c3'], learners: ['c4'] };
const five = { voters: ['c1', 'c2', 'c3', 'c4', 'c5'], learners: [] };

void t.test('a quorum of the current voters answering without this node: refused, naming them', async (t) => {
  t.match(liveQuorumRefusal(three, 'c1', ['c2', 'c3']), /^c2, c3 answer as running members of this cluster: 2 of the 3 voters, a quorum without c1\. The quorum is not lost/);
  t.match(liveQuorumRefusal(three, 'c1', ['c2', 'c3']), /pass --force$/);
  t.match(liveQuorumRefusal(five, 'c1', ['c2', 'c3', 'c5']), /^c2, c3, c5 answer .*3 of the 5 voters/);
});

void t.test('fewer than a quorum answering, or learners and strangers answering: recovery goes on', async (t) => {
  t.equal(liveQuorumRefusal(three, 'c1', []), null, 'nobody answers: the quorum is lost');
  t.equal(liveQuorumRefusal(three, 'c1', ['c2']), null, 'one of three: with c1 stopped, no quorum runs');
  t.equal(liveQuorumRefusal(five, 'c1', ['c2', 'c3']), null, 'two of five');
  t.equal(liveQuorumRefusal(three, 'c1', ['c2', 'c4', 'c9']), null, 'a learner and a stranger are not voters');
  t.equal(liveQuorumRefusal(three, 'c1', ['c1', 'c2']), null, 'this node never counts for itself');
});

void t.test('the voters asked: the others, at the address known for each', async (t) => {
  const known: Record<string, string> = { c2: '10.0.0.2:7101', c3: '' };
  t.same(votersToAsk(three, 'c1', (id) => known[id] ?? null), [{ id: 'c2', address: '10.0.0.2:7101' }], 'c3 has no address to ask at; c4 is a learner');
});
