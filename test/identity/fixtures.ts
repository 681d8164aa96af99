/** Small builders for identity tests: members tables, views and answers as plain data. */
import type { AcceptanceView } from '../../src/identity/acceptance.js';
import type { HelloReply } from '../../src/identity/hello.js';
import { initialNodes, type InitialNodes } from '../../src/identity/initial-nodes.js';
import type { LocalIdentity, RecordedMembers } from '../../src/identity/types.js';

export const INC = (n: number): string => n.toString(16).padStart(16, '0');
export const CLUSTER_A = '00000000000000aa';
export const CLUSTER_B = '00000000000000bb';

export function members(
  rows: Record<string, { incarnation?: string; role?: 'voter' | 'learner'; address?: string }>,
  opts: { clusterId?: string | null; removed?: readonly string[] } = {},
): RecordedMembers {
  const removed = new Set(opts.removed ?? []);
  return {
    get: (id) => {
      const r = rows[id];
      return r === undefined ? null : { incarnation: r.incarnation ?? '', role: r.role ?? 'voter', address: r.address ?? `10.0.0.${id.slice(1)}:7101` };
    },
    wasRemoved: (i) => removed.has(i),
    clusterId: opts.clusterId ?? null,
  };
}

export function identity(over: Partial<LocalIdentity> = {}): LocalIdentity {
  return { memberId: 'c1', incarnation: INC(1), clusterId: null, origin: 'bootstrap', recorded: false, creationSeen: true, creation: null, ...over };
}

export function view(over: Partial<AcceptanceView> = {}): AcceptanceView {
  return {
    self: 'c1',
    clusterName: 'prod',
    identity: identity(),
    term: 5,
    lastIndex: 10,
    members: members({ c1: {}, c2: {}, c3: {} }),
    configured: (id) => ['c1', 'c2', 'c3'].includes(id),
    ...over,
  };
}

export function reply(over: Omit<Partial<HelloReply>, 'you'> & { you?: Partial<HelloReply['you']> } = {}): HelloReply {
  const { you, ...rest } = over;
  return {
    memberId: 'c2',
    incarnation: INC(2),
    clusterId: CLUSTER_A,
    lastIndex: 40,
    appliedIndex: 40,
    creationNodes: null,
    ...rest,
    you: { member: true, role: 'voter', recorded: '', heard: '', removed: false, address: null, ...you },
  };
}

/** c1..cN at 10.0.0.1..N:7101, in id order (what a cluster file lists). */
export function nodes(...ids: string[]): InitialNodes {
  return initialNodes(ids.map((id) => ({ id, address: `10.0.0.${id.slice(1)}:7101` })));
}
