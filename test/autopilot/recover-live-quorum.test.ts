/** `controller recover` refuses while the other voters still run as a quorum (src/recover/live-quorum.ts). */
import t from 'tap';
import { answersByVoter, liveQuorumRefusal, refusalClause, staleLogRefusal, uncheckedRefusal, votersToAsk } from '../../src/recover/live-quorum.js';

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

void t.test('the voters asked: the others, at every address known for each', async (t) => {
  const known: Record<string, readonly string[]> = { c2: ['10.0.0.2:7101', '10.0.0.12:7101'], c3: [''] };
  t.same(
    votersToAsk(three, 'c1', (id) => known[id] ?? []),
    {
      targets: [
        { id: 'c2', address: '10.0.0.2:7101' },
        { id: 'c2', address: '10.0.0.12:7101' },
      ],
      unaddressed: ['c3'],
    },
    'c2 at both its addresses; c3 has none to ask at; c4 is a learner',
  );
});

void t.test('a voter asked at two addresses counts once: running at either wins, its furthest log counts', async (t) => {
  const refusedAt = { kind: 'refused', cause: 'refused this node', detail: null } as const;
  const merged = answersByVoter(
    [
      { id: 'c2', lastIndex: 9 },
      { id: 'c2', lastIndex: 12 },
    ],
    [
      { id: 'c2', ...refusedAt },
      { id: 'c3', ...refusedAt },
      { id: 'c3', kind: 'refused', cause: 'other', detail: null },
    ],
  );
  t.same(merged.running, [{ id: 'c2', lastIndex: 12 }]);
  t.same(merged.refused, [{ id: 'c3', ...refusedAt }], 'c2 runs, so its refusal at the other address is not counted; c3 once');
});

void t.test('voters with no address to ask at: refused when they could complete a quorum', async (t) => {
  t.match(uncheckedRefusal(five, 'c1', 1, ['c4', 'c5']), /^c4, c5 have no address in c1's log or the cluster file, so whether they still run was not checked; with 1 other voter answering, they could make a quorum of the 5 voters without c1\./);
  t.match(uncheckedRefusal(three, 'c1', 0, ['c2', 'c3']), /List their addresses in cluster\.nodes to have them asked, or pass --force$/);
  t.equal(uncheckedRefusal(five, 'c1', 0, ['c4', 'c5']), null, 'two of five, even if both run: not a quorum');
  t.equal(uncheckedRefusal(three, 'c1', 2, []), null, 'every voter had an address');
});

void t.test('staleLogRefusal: a running member whose log goes further is not recovered over', async (t) => {
  // c3 stopped while its log said c1..c4; c2 was then removed, writes went on (c1 and c4 are a
  // quorum of c1, c3, c4): only two of the four voters c3 knows answer, so liveQuorumRefusal lets
  // it through; their longer logs do not.
  const four = { voters: ['c1', 'c2', 'c3', 'c4'], learners: [] };
  const running = [
    { id: 'c1', lastIndex: 14 },
    { id: 'c4', lastIndex: 14 },
  ];
  t.equal(liveQuorumRefusal(four, 'c3', ['c1', 'c4']), null, 'two of four: not a quorum of what c3 knows');
  t.match(staleLogRefusal('c3', 9, running), /^c1 \(to index 14\), c4 \(to index 14\) run as members of this cluster with a longer log than c3's \(to index 9\): recovering c3 would drop what they hold/);
  t.match(staleLogRefusal('c3', 9, running), /recover c1 instead \(after stopping it\).*pass --force$/);
  t.match(staleLogRefusal('c1', 9, [{ id: 'c2', lastIndex: 10 }, { id: 'c3', lastIndex: 12 }]), /^c3 \(to index 12\), c2 \(to index 10\) run .*recover c3 instead/, 'the furthest first');
  t.equal(staleLogRefusal('c3', 14, running), null, 'a log as long as theirs: nothing to lose');
  t.equal(staleLogRefusal('c3', 9, []), null, 'nobody running');
  t.equal(staleLogRefusal('c3', 9, [{ id: 'c3', lastIndex: 20 }]), null, 'this node never counts');
});

void t.test('voters that answered but refused this node\'s file run too: they make a quorum, named with the cause', async (t) => {
  const name = { kind: 'refused', cause: 'refused this file\'s cluster name "prod": they run cluster "att3"', detail: null } as const;
  const both = [{ id: 'c2', ...name }, { id: 'c3', ...name }];
  t.match(liveQuorumRefusal(three, 'c1', [], both), /^c2, c3 answered but refused this file's cluster name "prod": they run cluster "att3"\. 2 of the 3 voters run, a quorum without c1: /);
  t.match(liveQuorumRefusal(three, 'c1', [], both), /make the file match theirs \(cluster\.name, tls\) and start c1 again.*pass --force$/);
  t.match(
    liveQuorumRefusal(three, 'c1', ['c2'], [{ id: 'c3', kind: 'refused', cause: 'ended the connection in the TLS handshake', detail: 'read ECONNRESET' }]),
    /^c3 \(read ECONNRESET\) answered but ended the connection in the TLS handshake; c2 answers as a running member of this cluster\. 2 of the 3 voters run/,
    'members and refusers count together; a per-peer detail is shown beside its id',
  );
  const slow = { kind: 'slow', within: '5.001s', at: '127.0.0.1:7102' } as const;
  t.match(
    liveQuorumRefusal(three, 'c1', [], [{ id: 'c2', ...slow }, { id: 'c3', ...slow }]),
    /^c2, c3 connected and had no answer within 5\.001s .*2 of the 3 voters run, a quorum without c1: the quorum is likely not lost, only slow\..*pass --force$/,
    'voters whose connections came up but whose answers were late run too (a loaded host)',
  );
  t.equal(
    liveQuorumRefusal(three, 'c1', [], [{ id: 'c2', ...slow }, { id: 'c3', ...slow, at: '127.0.0.1:7103' }]),
    'c2 connected and had no answer within 5.001s (at 127.0.0.1:7102: running but overloaded, or paused?); c3 connected and had no answer within 5.001s (at 127.0.0.1:7103: running but overloaded, or paused?). ' +
      '2 of the 3 voters run, a quorum without c1: the quorum is likely not lost, only slow. Start c1 again and it follows their leader, or run recover again once their host is less loaded. If they are frozen for good, stop them, or pass --force',
    'the whole message, one clause per address',
  );
  t.match(
    liveQuorumRefusal(three, 'c1', [], [{ id: 'c2', ...slow }, { id: 'c3', ...name }]),
    /^c2 connected and had no answer within 5\.001s \(at 127\.0\.0\.1:7102: running but overloaded, or paused\?\); c3 answered but refused this file's cluster name .*a node recovered with this file would lead a second cluster beside them\./,
    'a slow voter beside one that refused: the refusal\'s advice',
  );
  t.equal(refusalClause({ kind: 'refused', cause: 'connected and had no answer, it says', detail: null }), 'answered but connected and had no answer, it says', 'the wording follows the kind, not the words');
  t.equal(liveQuorumRefusal(three, 'c1', [], [{ id: 'c2', ...name }]), null, 'one of three: not a quorum');
  t.equal(liveQuorumRefusal(three, 'c1', [], [{ id: 'c4', ...name }, { id: 'c1', ...name }, { id: 'c2', ...name }]), null, 'a learner and this node never count');
});
