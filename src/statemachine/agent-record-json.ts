/**
 * An agent record as its snapshot writes it, and the length of that JSON counted without writing
 * it, so the agents kind keeps its snapshot's length as records change (AgentsStore) and
 * controller.quota_bytes need not serialize the kind: at 10,000 agents that was about 4 MB of
 * JSON every 5 s, 17 ms of a loaded leader's loop per count. The count is exact: every field is
 * what recordJson writes, a string or list as JSON.stringify writes it.
 */
import type { AgentRecord } from './agent-records.js';

/** Fixed field order, so equal tables give equal snapshot bytes. */
export function recordJson(r: AgentRecord): unknown {
  return {
    id: r.id,
    online: r.online,
    controller: r.controller,
    session: r.session,
    epoch: { boot: r.epoch.boot, seq: r.epoch.seq },
    statusReason: r.statusReason,
    pushes: r.pushes,
    timeoutMs: r.timeoutMs,
    info: { protocols: r.protocols, lazy: r.lazy, dependencies: r.dependencies, hosts: r.hosts },
    sync: { sentVersion: r.sentVersion, ackedVersion: r.ackedVersion, nackedVersion: r.nackedVersion, lastError: r.lastError, resources: r.resources },
  };
}

/**
 * recordJson's JSON without its 18 values: every name, brace, colon and comma. Counted from a
 * record whose every value is written as one character, less those characters.
 */
const FIXED_LENGTH = (() => {
  const one = 0;
  const probe = JSON.stringify({
    id: one,
    online: one,
    controller: one,
    session: one,
    epoch: { boot: one, seq: one },
    statusReason: one,
    pushes: one,
    timeoutMs: one,
    info: { protocols: one, lazy: one, dependencies: one, hosts: one },
    sync: { sentVersion: one, ackedVersion: one, nackedVersion: one, lastError: one, resources: one },
  });
  return probe.length - 18;
})();

const stringLength = (s: string): number => JSON.stringify(s).length;
/** As String(n).length, without making the string for the integers records hold. */
function numberLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return String(n).length;
  let digits = 1;
  for (let power = 10; n >= power; power *= 10) digits++;
  return digits;
}
const nullableLength = (n: number | null): number => (n === null ? 4 : numberLength(n));
const booleanLength = (b: boolean): number => (b ? 4 : 5);
const errorLength = (s: string | null): number => (s === null ? 4 : stringLength(s));

/** The lists records share (SharedValues) are counted once each; a record never changes a list. */
const listLengths = new WeakMap<readonly string[], number>();

function listLength(list: readonly string[]): number {
  let n = listLengths.get(list);
  if (n === undefined) {
    n = JSON.stringify(list).length;
    listLengths.set(list, n);
  }
  return n;
}

/** `JSON.stringify(recordJson(r)).length`, without making either. */
export function recordJsonLength(r: AgentRecord): number {
  return (
    FIXED_LENGTH +
    stringLength(r.id) +
    booleanLength(r.online) +
    stringLength(r.controller) +
    stringLength(r.session) +
    stringLength(r.epoch.boot) +
    numberLength(r.epoch.seq) +
    stringLength(r.statusReason) +
    numberLength(r.pushes) +
    numberLength(r.timeoutMs) +
    listLength(r.protocols) +
    booleanLength(r.lazy) +
    listLength(r.dependencies) +
    listLength(r.hosts) +
    nullableLength(r.sentVersion) +
    nullableLength(r.ackedVersion) +
    nullableLength(r.nackedVersion) +
    errorLength(r.lastError) +
    numberLength(r.resources)
  );
}

/** How much longer `b`'s value makes the JSON than `a`'s; nothing to count when they are the same. */
function change<T>(a: T, b: T, length: (v: T) => number): number {
  return a === b ? 0 : length(b) - length(a);
}

/**
 * `recordJsonLength(next) - recordJsonLength(previous)`, counting only the values that differ:
 * most changes (an ACK's sync) replace a few numbers and keep every string and list, and an
 * apply of 10,000 of them should not measure 10,000 records twice over.
 */
export function recordLengthChange(previous: AgentRecord, next: AgentRecord): number {
  const a = previous;
  const b = next;
  return (
    change(a.id, b.id, stringLength) +
    change(a.online, b.online, booleanLength) +
    change(a.controller, b.controller, stringLength) +
    change(a.session, b.session, stringLength) +
    change(a.epoch.boot, b.epoch.boot, stringLength) +
    change(a.epoch.seq, b.epoch.seq, numberLength) +
    change(a.statusReason, b.statusReason, stringLength) +
    change(a.pushes, b.pushes, numberLength) +
    change(a.timeoutMs, b.timeoutMs, numberLength) +
    change(a.protocols, b.protocols, listLength) +
    change(a.lazy, b.lazy, booleanLength) +
    change(a.dependencies, b.dependencies, listLength) +
    change(a.hosts, b.hosts, listLength) +
    change(a.sentVersion, b.sentVersion, nullableLength) +
    change(a.ackedVersion, b.ackedVersion, nullableLength) +
    change(a.nackedVersion, b.nackedVersion, nullableLength) +
    change(a.lastError, b.lastError, errorLength) +
    change(a.resources, b.resources, numberLength)
  );
}

/** The kind's snapshot, `{"transitionSeq":N,"records":[...]}`, around records of `recordsLength` in all. */
export function tableJsonLength(transitionSeq: number, count: number, recordsLength: number): number {
  return '{"transitionSeq":,"records":[]}'.length + numberLength(transitionSeq) + recordsLength + Math.max(0, count - 1);
}
