/**
 * Runs the AgentHub on real gRPC streams: numbers each AgentSync stream, decodes what arrives
 * (wire.ts), hands it to the hub, and carries out what the hub returns: writes, closes with a
 * gRPC status, read barriers, audit events, logs. It ticks the hub, pumps push decisions in
 * bounded slices (so a fan-out to thousands of agents never holds the event loop long enough to
 * delay Raft), and sends the hub's reports one at a time until each commits. Time comes in
 * through a Scheduler (src/util/clock.ts): Node's timers in production, a test's in tests.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../util/error-message.js';
import type { Logger } from 'pino';
import client from 'prom-client';
import { MAX_AGENT_RECORDS, MAX_SERVICES_PER_AGENT, type AgentReportEntry } from '../statemachine/index.js';
import { MalformedMessageError } from './errors.js';
import { AgentHub, IDLE_TICK_MS } from './hub.js';
import type { HubAudit, HubEffect, HubOptions, HubPort } from './hub-types.js';
import { streamIdentity } from './identity.js';
import { ReportTags } from './report-tags.js';
import { ServiceFailure } from '../api/service-error.js';
import type { CloseCode } from './protocol.js';
import type { MeshReportBody } from './mesh-reports.js';
import { systemScheduler, type Scheduler, type Timer } from '../util/clock.js';
import type { LiveAgent, StreamId } from './types.js';
import type { ControllerFrame } from './sync-codec.js';
import { PacedFrames } from './paced-frames.js';
import { frameSinkOf, type FrameSink } from './hub-frames.js';
import { takeReads } from './hub-reads.js';
import { StreamBacklog } from './stream-backlog.js';
import { PUSH_PART_BYTES } from './push-parts.js';
import { decodeAgentMessage, encodeControllerFrame, encodePushInParts, pushBody, type AgentMessageWire } from './wire.js';
import { trace, tracing } from '../util/trace.js';
import { MAX_SEND_MESSAGE_BYTES } from '../transport/message-limits.js';

export interface HubDriverPort extends HubPort {
  readonly logger: Logger;
  /** The largest push body written (default MAX_PUSH_BODY_BYTES; smaller in tests). */
  readonly maxPushBodyBytes?: number;
  /** Resolves once this node's state machine reflects every write committed before the call. */
  readBarrier(timeoutMs: number): Promise<void>;
  /** Commits a report: proposed here when leading, else forwarded to the leader. */
  report(entries: readonly AgentReportEntry[], client: { readonly id: string; readonly seq: number }, timeoutMs: number): Promise<void>;
  /** Commits a mesh report likewise (the leader stamps its clock on it). */
  meshReport(report: MeshReportBody, client: { readonly id: string; readonly seq: number }, timeoutMs: number): Promise<void>;
  audit(event: HubAudit): void;
  /** The live agents of the other controllers this one hears from (those that answer within timeoutMs). */
  liveElsewhere(timeoutMs: number): Promise<readonly LiveAgent[]>;
}

export type SyncCall = grpc.ServerDuplexStream<AgentMessageWire, ControllerFrame>;

/** A push body's limit: the server's send limit, less room for the frame's other fields. */
export const MAX_PUSH_BODY_BYTES = MAX_SEND_MESSAGE_BYTES - 64 * 1024;

const STATUS_OF: Readonly<Record<CloseCode, grpc.status>> = {
  unavailable: grpc.status.UNAVAILABLE,
  aborted: grpc.status.ABORTED,
  invalid: grpc.status.INVALID_ARGUMENT,
  denied: grpc.status.PERMISSION_DENIED,
  exhausted: grpc.status.RESOURCE_EXHAUSTED,
  foreign: grpc.status.FAILED_PRECONDITION,
};

/** Push decisions per event-loop turn: a fan-out yields to Raft between slices. */
const PUMP_SLICE = 256;
/** Reports gather what changes within this long before one is sent. */
const REPORT_GATHER_MS = 5;
/**
 * A report waits while pushes of this controller await their replies, up to this long after it
 * was first due: a fan-out's ACKs then go as one Raft entry written after the fan-out, instead
 * of several written between its pushes. Measured in docs/benchmarks.md ("Agents").
 */
const REPORT_GATHER_MAX_MS = 100;
/**
 * A report of nothing but ACKs of the last push sent waits until this long after the report
 * before it. An isolated change is reported as before (5 ms after its last reply); under a stream
 * of changes each agent's ACKs of several changes go as one entry instead of one entry per
 * change. Every entry is encoded, validated on the leader, replicated, decoded and applied on
 * every controller: about half of the controllers' CPU per change (docs/benchmarks.md,
 * fiftieth session).
 */
export const ACK_REPORT_PACE_MS = 500;

/** An attempt in flight that gives way once this controller, out of reach while it ran (outOfReach), hears a quorum and a leader again. */
interface RegainWatch {
  cutOff: boolean;
  readonly regained: () => void;
}

/** What sendUntilDone does on a failed attempt, a stale refusal, and before a retry. */
interface SendHooks {
  readonly failed: () => void;
  readonly stale: () => void;
  readonly retrying?: () => boolean;
}

export class HubDriver {
  readonly hub: AgentHub;
  private readonly calls = new Map<StreamId, SyncCall>();
  /** How each stream's messages are written (hub-frames.ts). */
  private readonly sinks = new Map<StreamId, FrameSink>();
  /** Streams whose agent takes a big push in parts (its hello said so), with their paced writer. */
  private readonly paced = new Map<StreamId, PacedFrames>();
  /** What each stream's transport has not taken yet (stream-backlog.ts). */
  private readonly backlogs = new Map<StreamId, StreamBacklog>();
  /** Streams ended for not reading what they were sent. */
  private unreadEnded = 0;
  private nextStream = 1;
  private ticker: Timer | null = null;
  private pumpScheduled = false;
  private reportTimer: Timer | null = null;
  /** When the report pending began gathering. */
  private reportDueSince = 0;
  /** When the last report was taken to be sent. */
  private lastReportAt = Number.NEGATIVE_INFINITY;
  /** The report timer waits out the pace (only quiet entries pending): an urgent one cuts it short. */
  private reportPacing = false;
  private readonly ackReportPaceMs: number;
  private reporting = false;
  private meshReporting = false;
  private meshReportTimer: Timer | null = null;
  private failedMeshReports = 0;
  private readonly tags = new ReportTags(() => randomBytes(6).toString('hex'));
  private stopped = false;
  private pushBytes = 0;
  private tooLargePushes = 0;
  /** Streams whose messages came through grpc-js's reader: the direct read (hub-reads.ts) was not available. */
  private streamsReadByGrpc = 0;
  private reportedEntries = 0;
  private failedReports = 0;
  /** Reports (agent and mesh) the leader refused as invalid: dropped, not retried. */
  private refusedReports = 0;
  private readonly tickMs: number;
  /** The ticker's current period: tickMs, or IDLE_TICK_MS while the hub is idle. */
  private tickingEvery: number | null = null;
  /** When the pushes pending now were caused (an apply), for the fan-out histogram. */
  private fanoutStartedAt: number | null = null;
  private fanoutPushes = 0;
  private fanout: client.Histogram | null = null;
  private readonly regainWatches = new Set<RegainWatch>();

  constructor(
    private readonly opts: HubOptions,
    private readonly port: HubDriverPort,
    private readonly time: Scheduler = systemScheduler,
  ) {
    // A cut-off controller must close its streams within an election timeout: tick often enough.
    this.tickMs = Math.max(10, Math.min(50, Math.floor(opts.electionTimeoutMs / 8)));
    this.ackReportPaceMs = opts.ackReportPaceMs ?? ACK_REPORT_PACE_MS;
    this.hub = new AgentHub({ ...opts, tickMs: opts.tickMs ?? this.tickMs }, port);
  }

  start(): void {
    this.tick();
  }

  /**
   * Ticks the hub, every tickMs while it serves anything and every IDLE_TICK_MS while it is
   * idle: an idle controller then wakes 4 times a second for its agents instead of 20.
   */
  private tick(): void {
    const now = this.time.now();
    this.run(this.hub.tick(now));
    this.checkRegained(now);
    this.keepTicking();
  }

  private keepTicking(): void {
    const every = this.hub.idle ? IDLE_TICK_MS : this.tickMs;
    if (this.stopped || every === this.tickingEvery) return;
    this.ticker?.cancel();
    this.tickingEvery = every;
    this.ticker = this.time.every(every, () => this.tick());
  }

  /** Graceful stop: every stream is closed so its agent moves to another controller at once. */
  stop(): void {
    if (this.stopped) return;
    this.run(this.hub.closeAll(`${this.opts.self} is shutting down; try another controller`));
    this.stopped = true;
    this.ticker?.cancel();
    this.reportTimer?.cancel();
    this.reportTimer = null;
    this.reportPacing = false;
    this.meshReportTimer?.cancel();
  }

  /** The AgentSync.Sync handler. */
  serve(call: SyncCall): void {
    if (this.stopped) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: `${this.opts.self} is shutting down` });
      return;
    }
    const stream = this.nextStream++;
    this.calls.set(stream, call);
    const sink = frameSinkOf(call);
    this.sinks.set(stream, sink);
    this.backlogs.set(stream, new StreamBacklog());
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.paced.get(stream)?.close();
      this.paced.delete(stream);
      this.backlogs.delete(stream);
      this.sinks.delete(stream);
      if (this.calls.delete(stream)) this.run(this.hub.closed(stream, this.time.now()));
    };
    const onMessage = (w: AgentMessageWire): void => {
      if (ended) return;
      const now = this.time.now();
      if (w.pushParts && w.type === 'AGENT_MESSAGE_HELLO' && !this.paced.has(stream)) {
        this.paced.set(
          stream,
          new PacedFrames((frame, taken) =>
            sink(frame, () => {
              this.hub.partTaken(stream, this.time.now());
              taken();
            }),
          ),
        );
      }
      // What a body need not be parsed to refuse is refused first (hub.refuseBeforeDecode).
      const kind = w.type === 'AGENT_MESSAGE_HELLO' ? 'hello' : w.type === 'AGENT_MESSAGE_USAGE' ? 'usage' : null;
      const refused = kind === null ? null : this.hub.refuseBeforeDecode(stream, kind, w.agentId, now);
      if (refused !== null) {
        this.run(refused);
        return;
      }
      try {
        this.run(this.hub.message(stream, decodeAgentMessage(w), now));
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.run(this.hub.malformed(stream, err.message, now));
      }
    };
    // Straight from the HTTP/2 stream where the call's base was filed (hub-reads.ts). The call
    // is read all the same: that starts grpc-js's reads, and brings its end (and, without a
    // filed base, every message).
    if (!takeReads(call, onMessage)) this.streamsReadByGrpc++;
    call.on('data', onMessage);
    call.on('end', end);
    call.on('error', end);
    call.on('close', end);
    call.on('cancelled', end);
    this.run(this.hub.open(stream, streamIdentity(call.getAuthContext()), this.time.now()));
  }

  /**
   * Ends, PERMISSION_DENIED, each stream whose caller `judge` now refuses (`CODE: reason`); how
   * many it ended. The server's door judged a stream's caller once, when it opened: a removed
   * member's key holding one open would otherwise go on syncing as an agent (attack round 13).
   */
  refuseWhere(judge: (call: SyncCall) => string | null): number {
    let refused = 0;
    for (const [stream, call] of [...this.calls]) {
      const why = judge(call);
      if (why === null) continue;
      refused += 1;
      this.run(this.hub.end(stream, 'denied', why, this.time.now()));
    }
    return refused;
  }

  /** Ends a stream whose agent does not read what it is sent (stream-backlog.ts). */
  private endUnread(stream: StreamId, reason: string): void {
    this.unreadEnded++;
    if (this.unreadEnded === 1 || this.unreadEnded % 1000 === 0) this.port.logger.warn({ code: 'AGENT_NOT_READING', ended: this.unreadEnded }, `ended an agent stream: ${reason}`);
    this.run(this.hub.end(stream, 'exhausted', reason, this.time.now()));
  }

  /** Entries were applied: new versions to push, claims to follow, transitions to audit. */
  onApplied(): void {
    if (this.stopped) return;
    const now = this.time.now();
    if (tracing) trace('hub.applied');
    this.run(this.hub.applied(now));
    if (this.hub.hasWork() && this.fanoutStartedAt === null) {
      this.fanoutStartedAt = now;
      this.fanoutPushes = 0;
    }
  }

  get stats(): { readonly pushBytes: number; readonly tooLargePushes: number; readonly reportedEntries: number; readonly failedReports: number } {
    return { pushBytes: this.pushBytes, tooLargePushes: this.tooLargePushes, reportedEntries: this.reportedEntries, failedReports: this.failedReports };
  }

  private run(effects: readonly HubEffect[]): void {
    for (const e of effects) {
      try {
        this.carryOut(e);
      } catch (err) {
        this.port.logger.error({ err, effect: e.type }, 'agent hub effect failed');
      }
    }
    if (this.hub.hasWork()) this.schedulePump();
    // Back to the fast tick as soon as there is something to serve (the slow one resumes only
    // from a tick that found the hub idle, so the hub never judges a slow gap as a stall).
    if (this.tickingEvery !== this.tickMs && !this.hub.idle) this.keepTicking();
    this.scheduleReport();
    this.scheduleMeshReport();
  }

  private carryOut(e: HubEffect): void {
    switch (e.type) {
      case 'send': {
        const sink = this.sinks.get(e.stream);
        const backlog = this.backlogs.get(e.stream);
        if (sink === undefined || backlog === undefined) return;
        if (e.message.type !== 'push') {
          sink(encodeControllerFrame(e.message), backlog.otherWritten());
          const over = backlog.othersOverrun();
          if (over !== null) this.endUnread(e.stream, over);
          return;
        }
        const bytes = pushBody(e.message.plan).byteLength;
        const limit = this.port.maxPushBodyBytes ?? MAX_PUSH_BODY_BYTES;
        // gRPC would end the stream (RESOURCE_EXHAUSTED), the agent reconnect and be sent
        // the same again: not sent, the agent stays STALE and the reason is logged.
        if (bytes > limit) {
          this.tooLargePushes++;
          if (this.tooLargePushes === 1 || this.tooLargePushes % 1000 === 0) {
            this.port.logger.error({ bytes, limit, resources: e.message.plan.resources, version: e.message.plan.version }, `a configuration push of ${bytes} bytes is over the ${limit} one message can carry; not sent (its agents stay STALE): delete resources, or make agents lazy`);
          }
          return;
        }
        const unread = backlog.beforePush();
        if (unread !== null) {
          this.endUnread(e.stream, unread);
          return;
        }
        this.pushBytes += bytes;
        this.fanoutPushes++;
        const taken = backlog.pushWritten();
        const paced = this.paced.get(e.stream);
        if (paced !== undefined && (bytes > PUSH_PART_BYTES || paced.busy)) {
          paced.write(bytes > PUSH_PART_BYTES ? encodePushInParts(e.message) : [encodeControllerFrame(e.message)], taken);
          return;
        }
        sink(encodeControllerFrame(e.message), taken);
        return;
      }
      case 'close': {
        const call = this.calls.get(e.stream);
        this.calls.delete(e.stream);
        this.sinks.delete(e.stream);
        this.backlogs.delete(e.stream);
        this.paced.get(e.stream)?.close();
        this.paced.delete(e.stream);
        call?.emit('error', { code: STATUS_OF[e.code], details: errorMessage(e.reason) });
        return;
      }
      case 'barrier':
        this.port.readBarrier(this.opts.electionTimeoutMs * 2).then(
          () => this.run(this.hub.barrierDone(true, this.time.now())),
          () => this.run(this.hub.barrierDone(false, this.time.now())),
        );
        return;
      case 'ask-elsewhere':
        // Within an election timeout: a controller that does not answer by then serves nothing.
        this.port.liveElsewhere(this.opts.electionTimeoutMs).then(
          (rows) => this.run(this.hub.elsewhereAnswered(rows, this.time.now())),
          () => this.run(this.hub.elsewhereAnswered([], this.time.now())),
        );
        return;
      case 'audit':
        this.port.audit(e.event);
        return;
      case 'log':
        this.port.logger[e.level](e.fields, e.message);
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    this.time.soon(() => {
      this.pumpScheduled = false;
      if (tracing) trace('hub.pump');
      this.run(this.hub.pump(this.time.now(), PUMP_SLICE));
      if (tracing) trace('hub.pumped', this.fanoutPushes);
      if (!this.hub.hasWork() && this.fanoutStartedAt !== null) {
        const ms = this.time.now() - this.fanoutStartedAt;
        this.fanoutStartedAt = null;
        if (this.fanoutPushes > 0) {
          this.fanout?.observe(ms / 1000);
          this.port.logger.debug({ pushes: this.fanoutPushes, ms: Math.round(ms * 10) / 10 }, 'fan-out written');
        }
      }
    });
  }

  private scheduleReport(): void {
    if (this.reportPacing && this.hub.reportUrgent()) {
      // Something more than ACKs came: the pace no longer holds the report back.
      this.reportTimer?.cancel();
      this.reportTimer = null;
      this.reportPacing = false;
      this.armReport(REPORT_GATHER_MS);
      return;
    }
    if (this.reporting || this.reportTimer !== null || this.stopped || !this.hub.hasReport()) return;
    this.reportDueSince = this.time.now();
    this.armReport(REPORT_GATHER_MS);
  }

  private armReport(delayMs: number): void {
    this.reportTimer = this.time.after(delayMs, () => {
      this.reportTimer = null;
      this.reportPacing = false;
      const now = this.time.now();
      if (this.hub.hasReport() && now - this.reportDueSince < REPORT_GATHER_MAX_MS && this.hub.awaitingReplies()) {
        this.armReport(REPORT_GATHER_MS);
        return;
      }
      const paceLeft = this.lastReportAt + this.ackReportPaceMs - now;
      if (paceLeft > 0 && this.hub.hasReport() && !this.hub.reportUrgent()) {
        this.reportPacing = true;
        this.armReport(paceLeft);
        return;
      }
      void this.sendReports();
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.time.after(ms, resolve));
  }

  private scheduleMeshReport(): void {
    if (this.meshReporting || this.meshReportTimer !== null || this.stopped || !this.hub.meshReportDue(this.time.now())) return;
    this.meshReportTimer = this.time.after(REPORT_GATHER_MS, () => {
      this.meshReportTimer = null;
      void this.sendMeshReports();
    });
  }

  /** One mesh report in flight, sent until it commits (commitUntilDone). */
  private async sendMeshReports(): Promise<void> {
    if (this.meshReporting) return;
    this.meshReporting = true;
    try {
      for (let body = this.hub.takeMeshReport(this.time.now()); body !== null && !this.stopped; body = this.hub.takeMeshReport(this.time.now())) {
        let tag = this.tags.nextMeshReport();
        await this.sendUntilDone('mesh report', () => this.port.meshReport(body, tag, this.opts.electionTimeoutMs * 2), {
          failed: () => this.failedMeshReports++,
          stale: () => {
            this.renewTags(tag);
            tag = this.tags.nextMeshReport();
          },
        });
        this.hub.meshReportDone();
      }
    } finally {
      this.meshReporting = false;
    }
  }

  /** One report in flight, sent until it commits (commitUntilDone). */
  private async sendReports(): Promise<void> {
    if (this.reporting) return;
    this.reporting = true;
    try {
      // Entries a report had no room for are not paced: they were due with it.
      let overflow = false;
      for (let entries = this.hub.takeReport(this.time.now()); entries !== null && !this.stopped; entries = overflow || this.reportDueNow() ? this.hub.takeReport(this.time.now()) : null) {
        overflow = this.hub.hasReport();
        this.lastReportAt = this.time.now();
        let tag = this.tags.nextReport();
        let sent = entries;
        const outcome = await this.sendUntilDone('agent report', () => this.port.report(sent, tag, this.opts.electionTimeoutMs * 2), {
          failed: () => this.failedReports++,
          stale: () => {
            this.renewTags(tag);
            tag = this.tags.nextReport();
          },
          // The same seq with less in it: whichever attempt commits is applied once.
          retrying: () => {
            sent = this.hub.recheckOffline(sent);
            return sent.length > 0;
          },
        });
        // Refused or emptied, it is no longer in flight either: the entries it held are given up.
        if (outcome !== 'stopped') this.hub.reportCommitted(sent);
        if (outcome === 'committed') this.reportedEntries += sent.length;
      }
    } finally {
      this.reporting = false;
    }
    // ACKs left for their pace (reportDueNow) wait on the report timer.
    this.scheduleReport();
  }

  /** Whether what is pending goes at once after a report: something urgent, or the pace is over. */
  private reportDueNow(): boolean {
    return this.hub.reportUrgent() || this.time.now() >= this.lastReportAt + this.ackReportPaceMs;
  }

  /**
   * Sends until it commits, or the leader refuses it as invalid, or we stop. A failed attempt is retried as it was (the
   * same client seq: applied once, whichever attempt commits), after 20 ms doubling to 500 ms.
   * An attempt made while this controller was cut off from a quorum or its leader (forwarded
   * to a leader it could not reach) may hang until its deadline, and every report after it
   * waits, claims included: once both are heard again it is given up on and retried at once.
   * Before each retry `retrying` may shrink what is sent (false: nothing is left, done). One
   * refused as stale (its client id's latest seq is past ours: someone else used the id)
   * can never commit: `stale` moves it to a new id, and it is sent again at once. One refused
   * as invalid (it cannot be proposed: report-budget.ts keeps that from happening) would be
   * refused again every time: it is dropped and logged, so that one bad report cannot hold up
   * every report after it (and, unanswered, make this controller shed its agents).
   */
  private async sendUntilDone(what: string, send: () => Promise<void>, hooks: SendHooks): Promise<'committed' | 'refused' | 'emptied' | 'stopped'> {
    for (let attempt = 0; !this.stopped; attempt++) {
      if (attempt > 0 && hooks.retrying !== undefined && !hooks.retrying()) return 'emptied';
      try {
        if ((await this.attemptOnce(send)) === 'committed') return 'committed';
        hooks.failed();
        this.port.logger.debug(`${what}: a quorum is heard again; retrying at once`);
      } catch (err) {
        hooks.failed();
        if (err instanceof ServiceFailure && err.code === 'STALE_REQUEST') {
          hooks.stale();
          continue;
        }
        if (err instanceof ServiceFailure && err.code === 'INVALID_ARGUMENT') {
          this.refusedReports++;
          this.port.logger.error({ err: err.message }, `${what} refused by the leader as invalid; dropped`);
          return 'refused';
        }
        if (attempt % 20 === 0) this.port.logger.debug({ err }, `${what} not committed yet; retrying`);
        await this.pause(Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
      }
    }
    return 'stopped';
  }

  private renewTags(stale: { readonly id: string }): void {
    const id = this.tags.renew(stale.id);
    this.port.logger.warn({ stale: stale.id, now: id }, 'a report was refused as older than its client id\'s latest (another client used the id); reporting under a new client id');
  }

  private attemptOnce(send: () => Promise<void>): Promise<'committed' | 'quorum regained'> {
    return new Promise((resolve, reject) => {
      const watch: RegainWatch = { cutOff: this.outOfReach(this.time.now()), regained: () => resolve('quorum regained') };
      this.regainWatches.add(watch);
      send()
        .then(() => resolve('committed'), reject)
        .finally(() => this.regainWatches.delete(watch));
    });
  }

  /**
   * Cut off, or no leader heard for an election timeout (an election, or a leader only this
   * controller cannot reach): a proposal sent now may hang until its deadline.
   */
  private outOfReach(now: number): boolean {
    const leader = this.port.leaderContactAt();
    return this.hub.cutOffAt(now) || leader === null || now - leader > this.opts.electionTimeoutMs;
  }

  /** Tells the attempts in flight that saw this controller out of reach that it hears a quorum and a leader again. */
  private checkRegained(now: number): void {
    if (this.regainWatches.size === 0) return;
    const cutOff = this.outOfReach(now);
    for (const w of [...this.regainWatches]) {
      if (cutOff) w.cutOff = true;
      else if (w.cutOff) {
        this.regainWatches.delete(w);
        w.regained();
      }
    }
  }

  /** Gauges and counters on the node's Prometheus registry. */
  registerMetrics(registry: client.Registry): void {
    const hub = this.hub;
    const gauge = (name: string, help: string, read: () => number): void => {
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    };
    gauge('agents_streams', 'AgentSync streams open on this controller (hellos included).', () => hub.streamCount);
    gauge('agents_connected', 'Agents served by this controller.', () => hub.activeCount);
    gauge('agents_queued', 'Hellos waiting for admission.', () => hub.queuedCount);
    gauge('agents_manifests_held', 'Configuration manifests held for versions some agent is on (by reference count).', () => hub.store.held);
    gauge('agents_manifest_entries_held', 'Resource entries across the manifests held.', () => hub.store.heldEntries);
    gauge('agents_offline_timed', 'Offline agent records this controller times against controller.agent_reconnect_timeout.', () => hub.reaper.tracked);
    gauge('agents_departures_pending', 'Agents gone from this controller, within their grace to reappear elsewhere.', () => hub.pendingDepartures);
    gauge('agents_endpoints_held', 'Agents whose endpoints this controller, as leader, holds unhealthy because they flap (no revision for their flaps).', () => hub.endpointsHeld);
    gauge('agents_cut_off', '1 while this controller serves no agents: it hears no quorum or no leader, or the leader does not hear it.', () => (hub.cutOffAt(this.time.now()) ? 1 : 0));
    // Records are never removed and a connect beyond the cap is not recorded: alert well before.
    gauge('agents_records', `Agent records the cluster holds (applied here); at ${MAX_AGENT_RECORDS} a new agent id is served but not recorded.`, () => this.port.state().agents.size);
    const counter = (name: string, help: string, read: () => number): void => {
      new client.Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    this.fanout = new client.Histogram({
      name: 'agents_fanout_seconds',
      help: 'From applying a change to writing the last push it caused, on this controller.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    counter('agents_pushes_total', 'Configuration pushes sent by this controller.', () => hub.counters.pushes);
    counter('agents_push_bytes_total', 'Configuration bytes (push bodies) sent by this controller.', () => this.pushBytes);
    counter('agents_streams_read_by_grpc_total', "AgentSync streams whose messages went through grpc-js's reader, not straight from their HTTP/2 stream (hub-reads.ts): 0 on a sound build; more costs CPU per message, not correctness.", () => this.streamsReadByGrpc);
    counter('agents_pushes_too_large_total', 'Pushes not sent because one message cannot carry them (the agents stay STALE).', () => this.tooLargePushes);
    counter('agents_acks_total', 'ACKs accepted.', () => hub.counters.acks);
    counter('agents_nacks_total', 'NACKs accepted.', () => hub.counters.nacks);
    counter('agents_ignored_replies_total', 'ACKs and NACKs ignored (stale or unknown nonce, version never sent).', () => hub.counters.ignoredReplies);
    counter('agents_resyncs_total', 'Agents resynced from scratch (another cluster, a version beyond the cluster).', () => hub.counters.resyncs);
    counter('agents_takeovers_total', 'Streams closed because a newer connection of the agent took over.', () => hub.counters.takeovers);
    counter('agents_heartbeat_timeouts_total', 'Streams closed after the agent was silent for its timeout.', () => hub.counters.heartbeatTimeouts);
    counter('agents_refused_total', 'Streams refused (cut off, at the limit, identity mismatch, an agent of another cluster).', () => hub.counters.refused);
    counter('agents_report_entries_total', 'Agent record entries committed through Raft by this controller.', () => this.reportedEntries);
    counter('agents_reports_failed_total', 'Report attempts that did not commit (retried).', () => this.failedReports);
    counter('agents_mesh_reports_failed_total', 'Mesh report attempts (publishes, /resolve usage) that did not commit (retried).', () => this.failedMeshReports);
    counter('agents_reports_refused_total', 'Reports (agent and mesh) the leader refused as invalid: dropped, not retried.', () => this.refusedReports);
    counter('agents_publishes_total', 'Agent publishes proposed (a hello declaring something the log does not hold).', () => hub.counters.publishes);
    counter('agents_republishes_skipped_total', 'Agent publishes identical to the log, not proposed (no Raft write).', () => hub.counters.republishesSkipped);
    counter('agents_publishes_damped_total', "Agent publishes that changed the mesh past the agent's allowance through this controller (3 per 30 s) and waited (once per stream).", () => hub.counters.publishesDamped);
    counter('agents_publishes_over_mesh_bound_total', 'Agent publishes held back because they would grow the mesh past controller.max_mesh_bytes (once per stream).', () => hub.counters.publishesOverMesh);
    counter('agents_publishes_unspoken_protocol_total', 'Agent publishes held back because they bring a protocol that agents getting every service do not speak (once per stream).', () => hub.counters.publishesUnspoken);
    counter('agents_publishes_not_allowed_total', "Services agents publish as hosted that an operator applied and does not allow them to serve (label mesh/allowed-agents): refused, counted once per refused service per publish (a stream's hello, and again when a later check of it refuses the service anew).", () => hub.counters.publishesNotAllowed);
    counter('agents_publishes_over_agent_share_total', `New services agents publish past the ${MAX_SERVICES_PER_AGENT} one agent may hold by its publishes (quarantined VIPs included): refused, counted once per refused service per publish (a stream's hello, and again when a later check of it refuses the service anew).`, () => hub.counters.publishesOverShare);
    counter('agents_publishes_undeclared_total', 'Services agents publish as hosted that no operator applied, while services.agent_publish is declared: refused (nothing created, no agent joins one agents published), counted once per refused service per publish (a stream\'s hello, and again when a later check of it refuses the service anew).', () => hub.counters.publishesUndeclared);
    counter('agents_publishes_held_total', 'Agent publishes that would create services, not proposed while the state is at controller.quota_bytes.', () => hub.counters.publishesHeld);
    counter('agents_offline_held_total', 'Offline reports held back because another controller served the agent on another stream.', () => hub.counters.offlineHeld);
    counter('agents_reaps_proposed_total', 'Forgets of agents offline beyond controller.agent_reconnect_timeout proposed by this controller as leader.', () => hub.counters.reapsProposed);
    counter('agents_endpoint_holds_total', 'Flapping agents whose endpoints this controller, as leader, began to hold unhealthy.', () => hub.endpointHolds);
    counter('agents_usage_messages_dropped_total', 'Usage messages dropped unread: their stream sent more than 50 a second (after a burst of 100).', () => hub.counters.usageMessagesDropped);
    counter('agents_usage_dropped_total', 'Resolved names dropped by the bounds on what an agent may report.', () => hub.meshReports.dropped);
  }
}

/** Session ids are unique per process run: a restarted controller never reuses one. */
export function sessionPrefix(self: string): string {
  return `${self}:${randomBytes(4).toString('hex')}`;
}
