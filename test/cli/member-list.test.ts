/** `ctl member list`: the committed records, and the answering node's duplicate mark beside the status. */
import t from 'tap';
import { decodeMemberList } from '../../src/api/operator-answers.js';
import { renderMemberList } from '../../src/cli/ctl/member-list.js';

const answer = (dup: unknown): Record<string, unknown> => ({
  members: [
    { id: 'c1', address: '127.0.0.1:7001', role: 'voter', status: 'online', autoPromote: false, leader: true, ...(dup === undefined ? {} : { duplicateProcess: false }) },
    { id: 'c2', address: '127.0.0.1:7002', role: 'voter', status: 'online', autoPromote: false, leader: false, ...(dup === undefined ? {} : { duplicateProcess: dup }) },
  ],
  answeredBy: 'c1',
  leader: 'c1',
  revision: 3,
  removed: [],
});

void t.test('a member two processes answer as is marked in the table and named in JSON', async (t) => {
  const list = decodeMemberList(answer(true));
  const rows = renderMemberList(list.members, 'table').trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  t.strictSame(rows[1], ['c1', '127.0.0.1:7001', 'voter', 'yes', 'online', '-']);
  t.strictSame(rows[2], ['c2', '127.0.0.1:7002', 'voter', 'no', 'online(dup)', '-']);
  const json = JSON.parse(renderMemberList(list.members, 'json')) as Record<string, unknown>[];
  t.same(json.map((m) => m['duplicateProcess']), [false, true]);
  t.same(Object.keys(json[0]!), ['id', 'address', 'role', 'leader', 'status', 'autoPromote', 'duplicateProcess'], 'the field after the older ones');
});

void t.test('an older controller says nothing of duplicates: false, not an error; a wrong type is refused', async (t) => {
  t.same(decodeMemberList(answer(undefined)).members.map((m) => m.duplicateProcess), [false, false]);
  t.throws(() => decodeMemberList(answer('yes')), /duplicateProcess/);
});
