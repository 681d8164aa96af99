/**
 * Audit events: what `ctl audit -o json` prints, one per line. The shape is the contract's;
 * `parseAuditEvent` is the one gate every stored or received event passes through.
 */
import type { NodeId } from './types.js';
import { AuditEventError } from './errors.js';

export type AuditEventType =
  | 'member.status'
  | 'member.added'
  | 'member.removed'
  /** A learner became a voter (by `ctl member promote`, or by the leader's promoter). */
  | 'member.promoted'
  | 'leader.changed'
  | 'state.divergence'
  | 'state.repaired'
  /** The cluster version rose (every member runs that version or later: a rolling upgrade is complete). */
  | 'cluster.version'
  | 'agent.status'
  | 'agent.nack'
  | 'agent.takeover'
  /** An offline agent's record removed: offline beyond controller.agent_reconnect_timeout, or by `ctl delete agent`. */
  | 'agent.forgotten'
  /** A forgotten agent's declaration and endpoints removed from the services. */
  | 'agent.declaration.forgotten'
  /** A peer message refused on identity grounds (src/identity), by this node or by the peer. */
  | 'peer.refused'
  | 'agent.dependency.added'
  | 'agent.dependency.expiring'
  | 'agent.dependency.expired'
  | 'agent.dependency.removed'
  | 'service.vip.assigned'
  | 'service.vip.released'
  | 'service.publish.refused';

export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  'member.status',
  'member.added',
  'member.removed',
  'member.promoted',
  'leader.changed',
  'state.divergence',
  'state.repaired',
  'cluster.version',
  'agent.status',
  'agent.nack',
  'agent.takeover',
  'agent.forgotten',
  'agent.declaration.forgotten',
  'peer.refused',
  'agent.dependency.added',
  'agent.dependency.expiring',
  'agent.dependency.expired',
  'agent.dependency.removed',
  'service.vip.assigned',
  'service.vip.released',
  'service.publish.refused',
];

export interface AuditEvent {
  /** ISO 8601 wall-clock time, e.g. 2026-11-23T10:00:00.000Z. */
  readonly time: string;
  /** The controller that recorded the event. */
  readonly node: NodeId;
  readonly type: AuditEventType;
  /** The member (or agent) the event is about (for leader.changed: the new leader, or null for none). */
  readonly subject: NodeId | null;
  /** Status, leader id or address before; null where there was none. */
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
}

export function auditEvent(
  wallClockMs: number,
  node: NodeId,
  type: AuditEventType,
  fields: { readonly subject: NodeId | null; readonly from: string | null; readonly to: string | null; readonly reason: string },
): AuditEvent {
  return { time: new Date(wallClockMs).toISOString(), node, type, ...fields };
}

export const leaderChanged = (wallClockMs: number, node: NodeId, from: NodeId | null, to: NodeId | null, term: number): AuditEvent =>
  auditEvent(wallClockMs, node, 'leader.changed', { subject: to, from, to, reason: `term ${term}` });

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The event's time in ms since the epoch (the store's key). */
export function eventTimeMs(e: AuditEvent): number {
  return Date.parse(e.time);
}

export const isAuditEventType = (s: string): s is AuditEventType => (AUDIT_EVENT_TYPES as readonly string[]).includes(s);

/** Validates an untrusted value (parsed JSON) as an AuditEvent. Unknown extra fields are ignored
 * (newer versions may add some) and dropped. */
export function parseAuditEvent(value: unknown): AuditEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuditEventError(`audit event: expected an object, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const o = value as Readonly<Record<string, unknown>>;
  const str = (key: string): string => {
    const v = o[key];
    if (typeof v !== 'string') throw new AuditEventError(`audit event: expected "${key}" to be a string, found ${v === null ? 'null' : typeof v}`);
    return v;
  };
  const optStr = (key: string): string | null => (o[key] === null ? null : str(key));

  const time = str('time');
  if (!ISO.test(time) || Number.isNaN(Date.parse(time))) {
    throw new AuditEventError(`audit event: expected "time" as an ISO timestamp like 2026-11-23T10:00:00.000Z, found ${JSON.stringify(time)}`);
  }
  const type = str('type');
  if (!isAuditEventType(type)) {
    throw new AuditEventError(`audit event: expected "type" to be one of ${AUDIT_EVENT_TYPES.join(', ')}, found ${JSON.stringify(type)}`);
  }
  return {
    time,
    node: str('node'),
    type,
    subject: optStr('subject'),
    from: optStr('from'),
    to: optStr('to'),
    reason: str('reason'),
  };
}
