/**
 * What the cluster records about each agent: who serves it, whether it is online, and what it
 * was sent, acknowledged and rejected. These records are health and acknowledgement records:
 * they never advance the cluster revision (an ACK must not make a new version for anyone).
 */
import { CommandError } from './errors.js';
import { Fields, placeIn, placeText, type ErrorFactory, type Place } from '../util/untrusted.js';
import { AGENT_ID_PATTERN, MAX_AGENT_ID_BYTES, MAX_PROTOCOL_BYTES, MAX_RESOURCE_NAME_BYTES, PROTOCOL_PATTERN, RESOURCE_NAME_PATTERN } from './mesh-types.js';
/** A NACK's error as recorded; the serving controller cuts longer ones before reporting. */
export const MAX_AGENT_ERROR_BYTES = 1024;
export const MAX_AGENT_REASON_BYTES = 256;
export const MAX_SESSION_BYTES = 128;
export const MAX_BOOT_BYTES = 64;
export const MAX_AGENT_NAMES = 256;
export const MAX_AGENT_PROTOCOLS = 32;

/**
 * Orders an agent's connections: `boot` is random per agent process, `seq` counts its connection
 * attempts. Of two claims from one process the higher seq wins, so a claim that arrives late
 * (a retried report) cannot take the agent back from the connection that replaced it.
 */
export interface AgentEpoch {
  readonly boot: string;
  readonly seq: number;
}

/** What the agent declares about itself on connecting (agent.yaml). */
export interface AgentInfo {
  readonly protocols: readonly string[];
  readonly lazy: boolean;
  readonly dependencies: readonly string[];
  readonly hosts: readonly string[];
}

/** The push tracker's state as the serving controller last reported it. */
export interface AgentSyncFields {
  readonly sentVersion: number | null;
  readonly ackedVersion: number | null;
  readonly nackedVersion: number | null;
  readonly lastError: string | null;
  /** Resources in the configuration the agent acknowledged. */
  readonly resources: number;
}

export interface AgentRecord extends AgentSyncFields, AgentInfo {
  readonly id: string;
  readonly online: boolean;
  /** The controller whose claim is the latest; it stays named when the agent goes offline. */
  readonly controller: string;
  /** The stream that claimed the agent; reports from any other stream change no status. */
  readonly session: string;
  readonly epoch: AgentEpoch;
  readonly statusReason: string;
  /** Configuration messages sent to this id, by any controller, ever. */
  readonly pushes: number;
  /** The adaptive heartbeat timeout its controller applied, for `list agents` and expiry. */
  readonly timeoutMs: number;
}

/** A stream was accepted: the reporting controller now serves the agent. */
export interface ConnectEntry {
  readonly op: 'connect';
  readonly id: string;
  readonly session: string;
  readonly epoch: AgentEpoch;
  readonly info: AgentInfo;
  readonly sync: AgentSyncFields;
  readonly timeoutMs: number;
  readonly pushes: number;
  /**
   * When the reporting controller admitted the stream, on its clock (from CLAIM_ORDER_VERSION;
   * absent before): of two processes' claims the one admitted later holds the agent (claim-openings.ts).
   */
  readonly opened?: number;
  /**
   * The agents' transition seq its controller had applied when it admitted the stream (with
   * `opened`): a claim admitted after the holder's claim applied there is newer, whatever the clocks.
   */
  readonly seen?: number;
}

/** The latest `opened` accepted: the year 2255, as the mesh's `at` (mesh-commands.ts MAX_AT_MS). */
export const MAX_OPENED_MS = 9_000_000_000_000;

/** New push-tracker state for a stream (counts only when that stream still owns the record). */
export interface SyncEntry {
  readonly op: 'sync';
  readonly id: string;
  readonly session: string;
  readonly sync: AgentSyncFields;
  readonly timeoutMs: number;
  readonly pushes: number;
}

/** The stream is gone for good (heartbeat timeout, closed and not back within its grace, or its controller unreachable). */
export interface DisconnectEntry {
  readonly op: 'disconnect';
  readonly id: string;
  readonly session: string;
  readonly reason: string;
  readonly pushes: number;
}

/**
 * The record goes, if it is still offline on this stream: the agent has been offline longer than
 * `controller.agent_reconnect_timeout` (the leader's reaper), or an operator forgot it. Only in a cluster
 * at FORGET_AGENTS_VERSION or above (src/statemachine/cluster-version.ts).
 */
export interface ForgetEntry {
  readonly op: 'forget';
  readonly id: string;
  readonly session: string;
  readonly reason: string;
}

export type AgentReportEntry = ConnectEntry | SyncEntry | DisconnectEntry | ForgetEntry;

const makeCommandError: ErrorFactory = (m) => new CommandError(m);

export function parseAgentId(f: Fields, key: string): string {
  const id = f.stringIn(key, true, MAX_AGENT_ID_BYTES);
  if (!AGENT_ID_PATTERN.test(id)) f.fail(`field "${key}" must be letters, digits and _ . : @ / -, starting with a letter or digit, found ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

function nullableVersion(f: Fields, key: string): number | null {
  return f.raw[key] === null ? null : f.intIn(key, 0, Number.MAX_SAFE_INTEGER);
}

interface NameRule {
  readonly what: string;
  readonly pattern: RegExp;
  readonly maxBytes: number;
}
const SERVICE_NAME: NameRule = { what: 'a service name', pattern: RESOURCE_NAME_PATTERN, maxBytes: MAX_RESOURCE_NAME_BYTES };
const PROTOCOL_NAME: NameRule = { what: 'a protocol name', pattern: PROTOCOL_PATTERN, maxBytes: MAX_PROTOCOL_BYTES };

/** A list of distinct names, returned sorted (equal sets are equal lists). */
export function parseNames(value: unknown, where: string, max: number, makeError: ErrorFactory = makeCommandError, rule: NameRule = SERVICE_NAME): readonly string[] {
  if (!Array.isArray(value)) throw makeError(`${where}: expected a list of names, found ${typeof value}`);
  if (value.length > max) throw makeError(`${where}: expected at most ${max} names, found ${value.length}`);
  const seen = new Set<string>();
  for (const [i, v] of (value as readonly unknown[]).entries()) {
    if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > rule.maxBytes || !rule.pattern.test(v)) {
      throw makeError(`${where}[${i}]: expected ${rule.what}, found ${String(JSON.stringify(v)).slice(0, 80)}`);
    }
    if (seen.has(v)) throw makeError(`${where}: ${JSON.stringify(v)} is listed twice`);
    seen.add(v);
  }
  return [...(value as readonly string[])].sort();
}

// The allowed fields' sets made once, not per entry checked (a Set built per sync entry was the
// largest part of a report's checks: docs/benchmarks.md, fifty-second and fifty-fourth sessions).
const INFO_FIELDS: ReadonlySet<string> = new Set(['protocols', 'lazy', 'dependencies', 'hosts']);
const SYNC_FIELDS: ReadonlySet<string> = new Set(['sentVersion', 'ackedVersion', 'nackedVersion', 'lastError', 'resources']);
const EPOCH_FIELDS: ReadonlySet<string> = new Set(['boot', 'seq']);

export function parseAgentInfo(value: unknown, place: Place, makeError: ErrorFactory = makeCommandError): AgentInfo {
  const where = placeText(place);
  const f = Fields.of(value, where, makeError).only(INFO_FIELDS);
  return {
    protocols: parseNames(f.raw['protocols'], `${where}.protocols`, MAX_AGENT_PROTOCOLS, makeError, PROTOCOL_NAME),
    lazy: f.boolean('lazy'),
    dependencies: parseNames(f.raw['dependencies'], `${where}.dependencies`, MAX_AGENT_NAMES, makeError),
    hosts: parseNames(f.raw['hosts'], `${where}.hosts`, MAX_AGENT_NAMES, makeError),
  };
}

export function parseSyncFields(value: unknown, where: Place, makeError: ErrorFactory = makeCommandError): AgentSyncFields {
  const f = Fields.of(value, where, makeError).only(SYNC_FIELDS);
  return {
    sentVersion: nullableVersion(f, 'sentVersion'),
    ackedVersion: nullableVersion(f, 'ackedVersion'),
    nackedVersion: nullableVersion(f, 'nackedVersion'),
    lastError: f.raw['lastError'] === null ? null : f.stringIn('lastError', false, MAX_AGENT_ERROR_BYTES),
    resources: f.intIn('resources', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function parseEpoch(value: unknown, where: Place, makeError: ErrorFactory = makeCommandError): AgentEpoch {
  const f = Fields.of(value, where, makeError).only(EPOCH_FIELDS);
  return { boot: f.stringIn('boot', true, MAX_BOOT_BYTES), seq: f.intIn('seq', 0, Number.MAX_SAFE_INTEGER) };
}

/** A report entry's bounds on `pushes` and `timeoutMs`. */
const MAX_REPORTED_PUSHES = 1_000_000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const ENTRY_FIELDS: Readonly<Record<AgentReportEntry['op'], ReadonlySet<string>>> = {
  connect: new Set(['op', 'id', 'session', 'epoch', 'info', 'sync', 'timeoutMs', 'pushes', 'opened', 'seen']),
  sync: new Set(['op', 'id', 'session', 'sync', 'timeoutMs', 'pushes']),
  disconnect: new Set(['op', 'id', 'session', 'reason', 'pushes']),
  forget: new Set(['op', 'id', 'session', 'reason']),
};

/** `where`: a function for the entries of a report, so that no entry's words are written unless it fails. */
export function parseReportEntry(value: unknown, where: Place): AgentReportEntry {
  const f = Fields.of(value, where, makeCommandError);
  const op = f.oneOf('op', ['connect', 'sync', 'disconnect', 'forget'] as const);
  f.only(ENTRY_FIELDS[op]);
  const id = parseAgentId(f, 'id');
  const session = f.stringIn('session', true, MAX_SESSION_BYTES);
  if (op === 'forget') return { op, id, session, reason: f.stringIn('reason', true, MAX_AGENT_REASON_BYTES) };
  const pushes = f.intIn('pushes', 0, MAX_REPORTED_PUSHES);
  switch (op) {
    case 'connect': {
      const opened = f.optionalInt('opened', { min: 0, max: MAX_OPENED_MS });
      const seen = f.optionalInt('seen', { min: 0, max: Number.MAX_SAFE_INTEGER });
      if (seen !== undefined && opened === undefined) f.fail('seen is given only with opened');
      return {
        op,
        id,
        session,
        epoch: parseEpoch(f.raw['epoch'], placeIn(where, '.epoch')),
        info: parseAgentInfo(f.raw['info'], placeIn(where, '.info')),
        sync: parseSyncFields(f.raw['sync'], placeIn(where, '.sync')),
        timeoutMs: f.intIn('timeoutMs', 0, MAX_TIMEOUT_MS),
        pushes,
        ...(opened === undefined ? {} : { opened }),
        ...(seen === undefined ? {} : { seen }),
      };
    }
    case 'sync':
      return { op, id, session, sync: parseSyncFields(f.raw['sync'], placeIn(where, '.sync')), timeoutMs: f.intIn('timeoutMs', 0, MAX_TIMEOUT_MS), pushes };
    case 'disconnect':
      return { op, id, session, reason: f.stringIn('reason', false, MAX_AGENT_REASON_BYTES), pushes };
    default: {
      const never: never = op;
      return never;
    }
  }
}

/** Cut an untrusted error string to what a record holds, on a character boundary, marking the cut. */
export function cutError(text: string, maxBytes: number = MAX_AGENT_ERROR_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const marker = ` ... (${Buffer.byteLength(text)} bytes, cut)`;
  let s = text.slice(0, Math.max(0, maxBytes - marker.length));
  while (Buffer.byteLength(s) + Buffer.byteLength(marker) > maxBytes) s = s.slice(0, -1);
  // A lone high surrogate left by the cut would not survive UTF-8 encoding unchanged.
  if (/[\uD800-\uDBFF]$/.test(s)) s = s.slice(0, -1);
  return s + marker;
}
