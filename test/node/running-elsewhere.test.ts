/** Operator round 17: an empty data dir under the id of a member that runs elsewhere (src/node/running-elsewhere.ts). */
import t from 'tap';
import type { HelloReply, PeerAnswer } from '../../src/identity/index.js';
import { ownAddressToAsk, runningElsewhereRefusal } from '../../src/node/running-elsewhere.js';

function reply(memberId: string, incarnation: string, you: Partial<HelloReply['you']> = {}): PeerAnswer {
  return {
    peer: memberId,
    reply: {
      memberId,
      incarnation,
      clusterId: '9cea0296f77ce83c',
      lastIndex: 10,
      appliedIndex: 10,
      you: { member: true, role: 'voter', recorded: 'b8ee80345c4c4896', heard: '', removed: false, address: '10.0.0.1:7101', ...you },
      creationNodes: null,
    },
  };
}

const peers = [reply('c2', '00000000000000c2'), reply('c3', '00000000000000c3')];

void t.test("the address asked is the cluster's record of the member, else the file's", async (t) => {
  t.equal(ownAddressToAsk(peers, '10.9.9.9:7101'), '10.0.0.1:7101');
  t.equal(ownAddressToAsk([{ peer: 'c2', error: 'UNAVAILABLE: x', status: 'UNAVAILABLE', details: 'x' }], '10.9.9.9:7101'), '10.9.9.9:7101');
});

void t.test('the member answering as itself with its recorded data dir is running: the refusal says so and warns against removing it', async (t) => {
  t.equal(
    runningElsewhereRefusal('c1', '/srv/c1', '10.0.0.1:7101', peers, reply('c1', 'b8ee80345c4c4896')),
    'member c1 is running: a controller answers at 10.0.0.1:7101 (the cluster\'s address of c1) as c1, incarnation b8ee80345c4c4896, the data dir the cluster records for it, ' +
      "while this process's data dir /srv/c1 is empty. This process is a second c1, not a lost one: do not remove c1. " +
      'Check --id (this host may be another member, or a new one: ctl member add ID ADDRESS, then start it with --join)',
  );
});

void t.test('nothing there, another member there, or another data dir of the member: the usual refusal stands', async (t) => {
  t.equal(runningElsewhereRefusal('c1', '/srv/c1', '10.0.0.1:7101', peers, { peer: 'c1', error: 'UNAVAILABLE: refused', status: 'UNAVAILABLE', details: 'refused' }), null);
  t.equal(runningElsewhereRefusal('c1', '/srv/c1', '10.0.0.1:7101', peers, reply('c2', '00000000000000c2')), null);
  t.equal(runningElsewhereRefusal('c1', '/srv/c1', '10.0.0.1:7101', peers, reply('c1', '1111111111111111')), null, 'a copy the cluster does not record');
});
