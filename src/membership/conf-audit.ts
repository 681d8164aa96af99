/**
 * The member.added and member.removed audit events of applied configuration changes, each
 * recorded once: the store's `conf` mark holds the Raft index of the last one recorded, so
 * replaying the log after a restart records nothing twice. A node records no change from
 * before it became a member itself (a node that joins replays history it did not witness);
 * the change that adds it is recorded. Pure: the index, the mark and the time come in.
 */
import type { ConfEntry } from '../raft/index.js';
import type { ConfState } from '../raft/types.js';
import type { NodeId } from './types.js';
import { decodeAddContext } from '../statemachine/add-context.js';
import { auditEvent, type AuditEvent } from './audit.js';

export const CONF_MARK = 'conf';

export function confAuditEvent(input: {
  readonly self: NodeId;
  readonly change: ConfEntry;
  /** The configuration once the change is applied. */
  readonly conf: ConfState;
  /** The change's Raft index. */
  readonly index: number;
  readonly recordedMark: string | undefined;
  readonly wallClockMs: number;
}): { readonly event: AuditEvent; readonly mark: string } | null {
  const { change, conf, self } = input;
  if (change.type !== 'add-learner' && change.type !== 'remove') return null;
  const recorded = input.recordedMark === undefined ? 0 : Number(input.recordedMark);
  if (Number.isFinite(recorded) && input.index <= recorded) return null;
  const member = conf.voters.includes(self) || conf.learners.includes(self);
  if (!member && change.node !== self) return null;
  const removed = change.type === 'remove';
  const event = auditEvent(input.wallClockMs, self, removed ? 'member.removed' : 'member.added', {
    subject: change.node,
    from: null,
    // An add's context is its address, with the intent to promote when a plain `member add` made it.
    to: removed ? null : decodeAddContext(change.context).address,
    // Autopilot's and recovery's removals carry their reason in the entry; the operator's carry none.
    reason: removed
      ? change.context || 'removed by operator'
      : decodeAddContext(change.context).autoPromote
        ? 'added as learner, to be promoted once caught up'
        : 'added as learner',
  });
  return { event, mark: String(input.index) };
}
