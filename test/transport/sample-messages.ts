/** Raft messages for the codec tests: every type, with fields that need multi-byte varints. */
import type { Message } from '../../src/raft/messages.js';

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const env = { from: 'n1', to: 'n2', term: 7 } as const;

/** Every type a Step batch carries (InstallSnapshot has its own stream). */
export const STEP_SAMPLES: readonly Message[] = [
  { type: 'PreVote', ...env, lastLogIndex: 10, lastLogTerm: 6, commit: 9 },
  { type: 'PreVoteResp', ...env, reject: true },
  { type: 'Vote', ...env, lastLogIndex: 10, lastLogTerm: 6, commit: 9, transfer: true },
  { type: 'VoteResp', ...env, reject: false },
  {
    type: 'Append',
    ...env,
    prevIndex: 4,
    prevTerm: 3,
    entries: [
      { term: 3, index: 5, kind: 'normal', data: bytes('a') },
      { term: 7, index: 6, kind: 'noop', data: new Uint8Array(0) },
      { term: 7, index: 7, kind: 'conf', data: bytes('{"type":"promote"}') },
    ],
    commit: 4, commitOnly: false,
  },
  { type: 'Append', ...env, prevIndex: 0, prevTerm: 0, entries: [], commit: 0, commitOnly: true },
  // Numbers and sizes that need multi-byte varints, and a two-byte field tag (context is 16).
  { type: 'Append', ...env, term: 2 ** 40, prevIndex: 2 ** 45, prevTerm: 2 ** 39, entries: [{ term: 2 ** 40, index: 2 ** 45 + 1, kind: 'normal', data: new Uint8Array(70_000).fill(7) }], commit: 2 ** 44, commitOnly: false },
  { type: 'AppendResp', ...env, reject: true, index: 9, rejectHint: 5, hintTerm: 3 },
  { type: 'Heartbeat', ...env, commit: 12, context: 'read-1' },
  { type: 'HeartbeatResp', ...env, context: 'read-1' },
  { type: 'TimeoutNow', ...env },
  { type: 'ReadIndex', ...env, context: 'ctx' },
  { type: 'ReadIndexResp', ...env, index: 44, reject: false, context: 'ctx' },
];

/** InstallSnapshot travels on its own stream, not in a Step batch. */
export const SNAPSHOT_SAMPLE: Message = {
  type: 'InstallSnapshot',
  ...env,
  snapshot: { meta: { index: 100, term: 6, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } }, data: new Uint8Array(0) },
};
