/**
 * The rules for Raft's two clocks, raft.heartbeat_interval and raft.election_timeout: floors
 * and a ratio a controller refuses to start with (exit 2), and relations that still work but
 * cost elections or availability, which it starts with and warns about.
 */
import { formatDuration } from './duration.js';
import type { LocatedProblem } from './issues.js';
import type { ClusterConfig } from './types.js';

/**
 * Raft ticks no faster than every 5ms (raftTickMs in src/node/raft-host.ts), so a shorter
 * interval is not even kept, and a Node.js timer slips by a millisecond or more: below 10ms
 * the leader floods its followers with heartbeats it cannot send on time.
 */
export const MIN_HEARTBEAT_INTERVAL_MS = 10;

/**
 * A garbage collection, a slow fsync or a snapshot stalls a controller for tens of milliseconds;
 * with an election timeout under 100ms each stall deposes the leader. 100ms is also ten Raft
 * ticks at the heartbeat floor and two membership pings at their fastest default (50ms).
 */
export const MIN_ELECTION_TIMEOUT_MS = 100;

/**
 * Followers wait one election timeout (randomised up to twice that) before replacing a leader
 * that crashed: for all that time the cluster takes no write. Beyond a minute that is an outage
 * nobody means (a typo, `10m` for `10s`); etcd refuses above 50s for the same reason.
 */
export const MAX_ELECTION_TIMEOUT_MS = 60_000;

/** Above this, failover is slow enough to say so at start: etcd advises up to 10s even across continents. */
export const ADVISED_MAX_ELECTION_TIMEOUT_MS = 10_000;

/** Raft §5.6, broadcastTime << electionTimeout: below this, elections fire between heartbeats. */
export const MIN_ELECTION_HEARTBEATS = 5;

/**
 * etcd's and our default (100ms and 1s). Between 5 and 10, a follower campaigns after a few
 * late heartbeats, so one pause of the leader costs an election.
 */
export const ADVISED_ELECTION_HEARTBEATS = 10;

/**
 * Election timeouts per membership ping (controller.heartbeat.interval). A controller counts a
 * voter as heard when a ping or Raft message came from it within one election timeout
 * (src/membership/membership-engine.ts). With four or more voters a follower hears the other
 * followers by pings only, so it needs a ping from them within every election timeout, or it
 * reads itself as cut off from a quorum and refuses requests. Two leave room for one late ping,
 * and are exactly the defaults' margin (pings every 500ms, election timeout 1s).
 */
export const ADVISED_ELECTION_PINGS = 2;

/** What is wrong with the resolved timings; `electionDefaulted`: the file did not write election_timeout. */
export function raftTimingProblems(heartbeatIntervalMs: number, electionTimeoutMs: number, electionDefaulted: boolean): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  if (heartbeatIntervalMs < MIN_HEARTBEAT_INTERVAL_MS) {
    problems.push({
      path: ['raft', 'heartbeat_interval'],
      reason:
        `heartbeat_interval ${formatDuration(heartbeatIntervalMs)} is below the floor of ${formatDuration(MIN_HEARTBEAT_INTERVAL_MS)}: ` +
        'Raft ticks no faster than every 5ms and timers slip by milliseconds, so the leader cannot keep a shorter interval ' +
        '(the default is 100ms)',
    });
  }
  const shown = `${formatDuration(electionTimeoutMs)}${electionDefaulted ? ' (default)' : ''}`;
  if (electionTimeoutMs < MIN_ELECTION_TIMEOUT_MS) {
    problems.push({
      path: ['raft', 'election_timeout'],
      reason:
        `election_timeout ${shown} is below the floor of ${formatDuration(MIN_ELECTION_TIMEOUT_MS)}: ` +
        'a garbage collection or a slow disk write pauses a controller for tens of milliseconds, ' +
        'and each pause would depose the leader (the default is 1s)',
    });
  } else if (electionTimeoutMs > MAX_ELECTION_TIMEOUT_MS) {
    problems.push({
      path: ['raft', 'election_timeout'],
      reason:
        `election_timeout ${shown} is above the ceiling of ${formatDuration(MAX_ELECTION_TIMEOUT_MS)}: ` +
        `a crashed leader would go unreplaced, and writes refused, for ${formatDuration(electionTimeoutMs)} or more (the default is 1s; ` +
        `a few seconds suit even distant data centers)`,
    });
  } else if (electionTimeoutMs < MIN_ELECTION_HEARTBEATS * heartbeatIntervalMs) {
    const floor = `${MIN_ELECTION_HEARTBEATS} x heartbeat_interval (${formatDuration(heartbeatIntervalMs)}) = ${formatDuration(MIN_ELECTION_HEARTBEATS * heartbeatIntervalMs)}`;
    problems.push({
      path: ['raft', 'election_timeout'],
      reason: `election_timeout ${shown} must be at least ${floor}, or elections fire between heartbeats`,
    });
  }
  return problems;
}

export interface TimingWarning {
  /** The key to change, as written in the file. */
  readonly key: string;
  /** `<file>: <key>: <reason>`, shaped like a ConfigError's message. */
  readonly message: string;
}

/** Timings a controller starts with but that cost elections or refused requests. */
export function raftTimingWarnings(config: Pick<ClusterConfig, 'file' | 'raft' | 'heartbeat'>): TimingWarning[] {
  const { heartbeatIntervalMs, electionTimeoutMs } = config.raft;
  const election = formatDuration(electionTimeoutMs);
  const warnings: TimingWarning[] = [];
  const warn = (key: string, reason: string): void => {
    warnings.push({ key, message: `${config.file}: ${key}: ${reason}` });
  };
  const advised = ADVISED_ELECTION_HEARTBEATS * heartbeatIntervalMs;
  if (electionTimeoutMs < advised) {
    warn(
      'raft.election_timeout',
      `${election} is under ${ADVISED_ELECTION_HEARTBEATS} x raft.heartbeat_interval (${formatDuration(heartbeatIntervalMs)}) = ${formatDuration(advised)}: ` +
        'a follower campaigns after a few late heartbeats, so a pause of the leader (garbage collection, a slow disk) costs an election; ' +
        `raise it to ${formatDuration(advised)} or more`,
    );
  }
  if (electionTimeoutMs > ADVISED_MAX_ELECTION_TIMEOUT_MS) {
    warn(
      'raft.election_timeout',
      `${election} is above ${formatDuration(ADVISED_MAX_ELECTION_TIMEOUT_MS)}: a crashed leader goes unreplaced, and writes are refused, ` +
        `for ${election} to ${formatDuration(2 * electionTimeoutMs)}; the default is 1s, and a few seconds suit even distant data centers`,
    );
  }
  const pingMs = config.heartbeat.intervalMs;
  const pinged = ADVISED_ELECTION_PINGS * pingMs;
  if (electionTimeoutMs < pinged) {
    warn(
      'raft.election_timeout',
      `${election} is under ${ADVISED_ELECTION_PINGS} x controller.heartbeat.interval (${formatDuration(pingMs)}) = ${formatDuration(pinged)}: ` +
        'a controller must hear a quorum within each election timeout, and with four or more voters a follower hears the others by ping only, ' +
        'so it reads itself as cut off between pings and refuses requests; ' +
        'raise raft.election_timeout or lower controller.heartbeat.interval (by default a quarter of base_timeout)',
    );
  }
  return warnings;
}
