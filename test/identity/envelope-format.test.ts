/** The envelope's identity fields are ids or '' (src/identity/envelope-format.ts), judged with rule 1. */
import t from 'tap';
import { judgeBatch, judgeEnvelope, judgePing } from '../../src/identity/acceptance.js';
import type { PeerEnvelope } from '../../src/identity/types.js';
import { CLUSTER_A, INC, identity, members, view } from './fixtures.js';

const env = (over: Partial<PeerEnvelope> = {}): PeerEnvelope => ({ clusterName: 'prod', clusterId: CLUSTER_A, from: 'c2', incarnation: INC(2), toIncarnation: '', creation: '', boot: '', ...over });
const established = view({
  identity: identity({ clusterId: CLUSTER_A }),
  members: members({ c1: { incarnation: INC(1) }, c2: { incarnation: INC(2) } }, { clusterId: CLUSTER_A }),
});

void t.test('a boot id of 16 lowercase hex digits, or none, passes; anything else is refused', async (t) => {
  t.equal(judgePing(established, env({ boot: '0123456789abcdef' })), null, 'as a process draws it');
  t.equal(judgePing(established, env({ boot: '' })), null, 'none: a sender of an older version');
  for (const boot of ['0123456789ABCDEF', '0123456789abcde', '0123456789abcdef0', 'run-1', ' 0123456789abcdef', '0123456789abcdeg']) {
    t.match(judgePing(established, env({ boot })), { code: 'MALFORMED_ENVELOPE', reason: /^boot: expected 16 hex digits or '', found / }, JSON.stringify(boot));
  }
  t.match(judgeBatch(established, env({ boot: 'x' }), []), { accept: false, refusal: { code: 'MALFORMED_ENVELOPE' } }, 'batches too');
});

void t.test('a huge value is shown cut short, with its length', async (t) => {
  const huge = 'a'.repeat(1 << 20);
  const refusal = judgeEnvelope(established, env({ boot: huge }));
  t.equal(refusal?.code, 'MALFORMED_ENVELOPE');
  t.equal(refusal?.reason, `boot: expected 16 hex digits or '', found "${'a'.repeat(64)}" (1048576 characters)`);
  t.ok((refusal?.reason.length ?? Infinity) < 200, 'the reason sent back and logged stays short');
  t.match(judgeEnvelope(established, env({ incarnation: huge })), { code: 'MALFORMED_ENVELOPE', reason: /^incarnation: .* \(1048576 characters\)$/ }, 'so is any id of the envelope');
  for (const field of ['clusterId', 'toIncarnation', 'creation'] as const) {
    t.match(judgeEnvelope(established, env({ [field]: 'not-an-id' })), { code: 'MALFORMED_ENVELOPE', reason: new RegExp(`^${field}: `) }, field);
  }
  const unknown = judgeEnvelope(established, env({ from: 'z'.repeat(1 << 16), boot: huge }));
  t.match(unknown, { code: 'UNKNOWN_MEMBER' }, 'an unknown sender is told so first');
  t.ok((unknown?.reason.length ?? Infinity) < 200, 'with its id cut short');
  const name = judgeEnvelope(established, env({ clusterName: 'n'.repeat(1 << 16) }));
  t.ok(name?.code === 'CLUSTER_NAME' && name.reason.length < 200, 'and a cluster name');
});
