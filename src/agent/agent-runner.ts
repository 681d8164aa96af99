/**
 * One agent: keeps one AgentSync stream to a controller of its list, judges each push with its
 * AgentConfig, writes --out before acknowledging, answers pings, and fails over (failover.ts)
 * when the stream ends or the controller goes quiet for the timeout it announced. The
 * decisions live in AgentConfig and Failover; this class wires them to gRPC and timers.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { H2Connection, type BidiCall, type StreamCallError, type StreamSecurity } from '../transport/h2-stream/index.js';
import { MAX_SEND_MESSAGE_BYTES } from '../transport/message-limits.js';
import type { Logger } from 'pino';
import { PushAssembler } from '../agents/push-parts.js';
import { encodeAgentFrame, decodeControllerMessage, type ControllerMessageWire, type ReceivedPush } from '../agents/wire.js';
import type { AgentMessage } from '../agents/protocol.js';
import { MalformedMessageError } from '../agents/errors.js';
import { SYNC_METHOD, type AgentFrame } from '../agents/sync-codec.js';
import type { Rng } from '../util/rng.js';
import type { AgentYaml } from './agent-yaml.js';
import { AgentConfig, type Candidate, type ConfigJson, type WholeCandidate } from './config-state.js';
import { Failover, startIndex, writeRetryDelayMs, type AttemptOutcome } from './failover.js';
import { configText, writeAtomically } from './out-file.js';
import { UsageReporter } from './usage-reporter.js';
import { heldAddresses, judgeWelcome, refusesSiblings } from './cluster-guard.js';
import { AnsweredWriter, answeredFileOf, type AnsweredClusters } from './answered-file.js';
import { resourceKey } from '../statemachine/index.js';

export interface AgentRunnerOptions {
  readonly id: string;
  readonly controllers: readonly string[];
  readonly security: StreamSecurity;
  readonly yaml: AgentYaml;
  /** Where to write the accepted configuration; null: nowhere. */
  readonly out: string | null;
  readonly logger: Logger;
  readonly rng: Rng;
  /** What an earlier run accepted (its --out file): reconnecting with it costs no re-send. */
  readonly initial?: ConfigJson | null;
  /** The cluster id each address welcomed an earlier run with (answered-file.ts, beside --out); kept there on each change. */
  readonly answered?: AnsweredClusters;
  /** Connections shared by many agents in one process (the scale tool); default: one per agent and controller. */
  readonly connection?: (address: string) => H2Connection;
  /** How long to wait for a welcome; default 2 s (a paused controller accepts the connection and says nothing). */
  readonly connectTimeoutMs?: number;
  /** Called after each configuration is accepted and acknowledged. */
  readonly onAccepted?: (version: number) => void;
  /** Called on every push received (before judging), with its body size. */
  readonly onPush?: (version: number, bytes: number) => void;
}

/** What `GET /resolve/NAME` answers: the service's VIP when it is in the configuration, else the fallback. */
export type ResolveAnswer = { readonly type: 'hit'; readonly vip: string | null } | { readonly type: 'fallback' };

type SyncStream = BidiCall<AgentFrame, ControllerMessageWire>;

/** A session shorter than this that ends counts as a failed attempt (back-off applies). */
const STABLE_SESSION_MS = 10_000;
/** Passes over every controller without a welcome before the agent warns (again). */
const UNWELCOMED_PASSES_BEFORE_WARNING = 3;

/** A watchdog that fires this much later than due measures our own stall, not the controller. */
const STALL_FORGIVEN_AFTER_MS = 250;

export interface AgentStatus {
  readonly connected: boolean;
  readonly controller: string | null;
  readonly session: string | null;
  readonly version: number | null;
}

export class AgentRunner {
  readonly config: AgentConfig;
  private readonly failover: Failover;
  private readonly boot = randomBytes(6).toString('hex');
  private seq = 0;
  private stream: SyncStream | null = null;
  /** This agent's own connections, by controller address (unless `opts.connection` shares them). */
  private readonly connections = new Map<string, H2Connection>();
  private watchdog: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** After a failed --out write: when to ask for the version again (a new stream). */
  private writeRetry: NodeJS.Timeout | null = null;
  /** --out writes that failed in a row. */
  private writeFailures = 0;
  private welcomed: { controller: string; session: string; clusterName: string } | null = null;
  /** Why the last controller that welcomed this agent was refused (another cluster: cluster-guard.ts); null: none since a welcome taken. */
  private foreign: string | null = null;
  /**
   * The cluster id each controller address last welcomed this agent with (welcomes taken, this
   * process and the runs before it, answered-file.ts): where the held cluster answered tells a
   * restore from another cluster of its name (cluster-guard.ts).
   */
  private readonly welcomedFor: Map<string, string>;
  /** Keeps welcomedFor beside --out; null without --out. */
  private readonly answeredWriter: AnsweredWriter | null;
  private timeoutMs: number;
  private lastHeardAt = 0;
  private welcomedAt = Number.NEGATIVE_INFINITY;
  private onSilence: () => void = () => undefined;
  private stopped = false;
  private attempt = 0;
  /** Attempts in a row that no controller welcomed. */
  private unwelcomed = 0;
  /** /resolve misses and hits on their way to the cluster (bounded). */
  readonly usage = new UsageReporter();
  private usageTimer: NodeJS.Timeout | null = null;
  /** Names this agent declares (static dependencies, hosted services): a hit on one is no news. */
  private readonly declared: ReadonlySet<string>;

  constructor(private readonly opts: AgentRunnerOptions) {
    this.config = new AgentConfig(new Set(opts.yaml.protocols));
    if (opts.initial) this.config.restore(opts.initial);
    this.welcomedFor = new Map(opts.answered ?? []);
    const answeredFile = opts.out === null ? null : answeredFileOf(opts.out);
    this.answeredWriter = answeredFile === null ? null : new AnsweredWriter(answeredFile, (err) => opts.logger.warn({ err, file: answeredFile }, `cannot write ${answeredFile}: ${err.message}; a restart forgets which addresses answered for this agent's cluster`));
    this.failover = new Failover(opts.controllers.length, startIndex(opts.id, opts.controllers.length), opts.rng);
    this.timeoutMs = opts.connectTimeoutMs ?? 2_000;
    this.declared = new Set([...opts.yaml.dependencies, ...opts.yaml.hosts.map((h) => h.name)]);
  }

  /**
   * `GET /resolve/NAME`: a service in the configuration is a hit (use of that dependency); any
   * other name goes via the fallback and is reported as an observed dependency.
   */
  resolve(name: string): ResolveAnswer {
    const svc = this.config.get(resourceKey('service', name));
    if (svc !== null && svc.kind === 'service') {
      if (!this.declared.has(name)) this.usage.hit(name);
      this.scheduleUsage();
      return { type: 'hit', vip: svc.status.vip ?? null };
    }
    this.usage.miss(name, performance.now());
    this.scheduleUsage();
    return { type: 'fallback' };
  }

  /** Sends what is due now on the stream in force; arms a timer for what is due later. */
  private scheduleUsage(): void {
    if (this.usageTimer !== null || this.stopped) return;
    const due = this.usage.dueAt();
    if (due === null) return;
    // Misses go within a few ms (coalesced), uses when their batch is due.
    const delay = Math.max(2, due - performance.now());
    this.usageTimer = setTimeout(() => {
      this.usageTimer = null;
      this.flushUsage();
    }, delay);
  }

  private flushUsage(): void {
    const stream = this.stream;
    // Sent once welcomed: a message before the hello is answered would be refused.
    if (stream === null || this.welcomed === null) return;
    const batch = this.usage.take(performance.now());
    if (batch !== null) this.send(stream, { type: 'usage', missed: batch.missed, used: batch.used });
    this.scheduleUsage();
  }

  start(): void {
    this.connect(this.failover.current());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (this.usageTimer !== null) clearTimeout(this.usageTimer);
    this.usageTimer = null;
    this.stream?.cancel();
    this.stream = null;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  status(): AgentStatus {
    return { connected: this.welcomed !== null, controller: this.welcomed?.controller ?? null, session: this.welcomed?.session ?? null, version: this.config.version };
  }

  private connection(address: string): H2Connection {
    if (this.opts.connection) return this.opts.connection(address);
    let c = this.connections.get(address);
    if (c === undefined) this.connections.set(address, (c = new H2Connection(address, this.opts.security, AGENT_MAX_RECEIVE_BYTES)));
    return c;
  }

  private connect(index: number): void {
    if (this.stopped) return;
    this.timeoutMs = this.opts.connectTimeoutMs ?? 2_000;
    const address = this.opts.controllers[index]!;
    const attempt = ++this.attempt;
    const connection = this.connection(address);
    const stream: SyncStream = connection.open(SYNC_METHOD.path, { encode: SYNC_METHOD.requestSerialize, decode: SYNC_METHOD.responseDeserialize });
    this.stream = stream;
    this.welcomed = null;
    let finished = false;
    const finish = (outcome: AttemptOutcome, why: string): void => {
      if (finished || attempt !== this.attempt) return;
      finished = true;
      this.clearTimers();
      stream.cancel();
      if (this.stream === stream) this.stream = null;
      const wasWelcomed = this.welcomed !== null;
      this.welcomed = null;
      if (this.stopped) return;
      // A session that ended soon after it began counts as a failed attempt: a herd bouncing
      // between overloaded controllers backs off instead of feeding the overload.
      const brief = performance.now() - this.welcomedAt < STABLE_SESSION_MS;
      const next = this.failover.next(outcome === 'ended' && (!wasWelcomed || brief) ? 'failed' : outcome, performance.now());
      this.unwelcomed = wasWelcomed ? 0 : this.unwelcomed + 1;
      // What repeats until an operator acts is a warning: a refusal (a certificate the controllers
      // do not take, a message they reject), another process taking this agent's id, and no
      // controller welcoming this agent pass after pass (a wrong --controllers address, a port
      // that is not a controller's): an operator reading warnings sees each.
      const unheard = !wasWelcomed && this.unwelcomed % (UNWELCOMED_PASSES_BEFORE_WARNING * this.opts.controllers.length) === 0;
      // Only controllers of another cluster answer: the agent keeps what it holds, and says so as an error.
      const strayed = unheard && this.foreign !== null;
      const level = strayed ? 'error' : outcome === 'refused' || outcome === 'taken-over' || unheard ? 'warn' : 'info';
      const hint =
        outcome === 'taken-over'
          ? 'another connection with this agent id took over: if no restart explains it, two processes run with one id'
          : strayed
            ? `no controller of cluster ${JSON.stringify(this.config.clusterName)} (id ${this.config.clusterId}), where this agent's configuration came from, welcomed it in ${this.unwelcomed} attempts; it keeps version ${this.config.version ?? 0}. Last refusal: ${this.foreign}`
            : unheard
              ? `no controller welcomed this agent in ${this.unwelcomed} attempts: check --controllers (each a controller's gRPC address) and the TLS files`
              : null;
      this.opts.logger[level]({ controller: address, outcome, why, next: this.opts.controllers[next.index], delayMs: next.delayMs, ...(hint === null ? {} : { hint }) }, 'sync stream ended');
      this.retry = setTimeout(() => this.connect(next.index), next.delayMs);
    };
    // One callback per attempt, not one per message (thousands of agents share a process in the swarm).
    // Nothing heard: the connection may be dead, and the next attempt on this controller would
    // ride it (h2-connection.ts, probe).
    const silent = (): void => {
      void connection.probe();
      finish('ended', `no message from ${address} within ${this.timeoutMs}ms`);
    };
    const resync = (): void => finish('resync', 'the push does not apply to what this agent holds');
    const retryWrite = (version: number): void => finish('resync', `asking again for version ${version}, which this agent could not write to --out`);
    // A big push comes in parts (push-parts.ts): each is news for the watchdog; pings go between them.
    const parts = new PushAssembler(MAX_SEND_MESSAGE_BYTES);
    stream.on('data', (received: ControllerMessageWire) => {
      if (finished) return;
      this.heard(silent);
      let m;
      let w = received;
      try {
        if (w.type === 'CONTROLLER_MESSAGE_PUSH_PART') {
          parts.add(w);
          return;
        }
        if (w.type === 'CONTROLLER_MESSAGE_PUSH') w = parts.complete(w);
        m = decodeControllerMessage(w);
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.opts.logger.warn({ err, controller: address }, 'malformed message from the controller; reconnecting');
        finish('refused', err.message);
        return;
      }
      switch (m.type) {
        case 'welcome': {
          const held = this.config.version === null ? null : { id: this.config.clusterId, name: this.config.clusterName };
          const theirs = { cluster: m.clusterId, clusterName: m.clusterName, address };
          const verdict = judgeWelcome(held, { id: m.clusterId, name: m.clusterName }, `${m.controller} at ${address}`, heldAddresses(this.welcomedFor, address, held?.id ?? null));
          if (verdict.type === 'refuse') {
            this.foreign = verdict.reason;
            this.opts.logger.warn({ controller: m.controller, ...theirs, heldCluster: held?.id, heldClusterName: held?.name }, verdict.reason);
            // As a controller that never welcomed it (the next one at once, back-off after a pass),
            // and held off: its answer will be the same for a while (failover.ts).
            finish('foreign', `${address} belongs to another cluster, ${JSON.stringify(m.clusterName)}`);
            return;
          }
          if (verdict.warning !== null) this.opts.logger.warn({ controller: m.controller, ...theirs, heldCluster: held?.id, heldClusterName: held?.name }, verdict.warning);
          if (held?.id === m.clusterId) this.config.learnClusterName(m.clusterName);
          this.foreign = null;
          if (this.welcomedFor.get(address) !== m.clusterId) {
            this.welcomedFor.set(address, m.clusterId);
            this.answeredWriter?.save(this.welcomedFor);
          }
          this.welcomed = { controller: m.controller, session: m.session, clusterName: m.clusterName };
          this.welcomedAt = performance.now();
          this.timeoutMs = m.timeoutMs;
          this.opts.logger.info({ controller: m.controller, session: m.session, ...theirs }, 'connected');
          this.flushUsage();
          return;
        }
        case 'ping':
          this.timeoutMs = m.timeoutMs;
          this.send(stream, { type: 'pong', seq: m.seq });
          return;
        case 'push':
          this.opts.onPush?.(m.version, w.body.byteLength);
          this.onPush(stream, m, resync, retryWrite);
          return;
      }
    });
    stream.on('error', (err: StreamCallError) => finish(outcomeOf(err.code), err.details || err.message));
    stream.on('end', () => finish('ended', 'the controller ended the stream'));
    this.arm(() => {
      void connection.probe();
      finish('failed', `no welcome from ${address} within ${this.timeoutMs}ms`);
    });
    const info = { protocols: this.opts.yaml.protocols, lazy: this.opts.yaml.lazy, dependencies: this.opts.yaml.dependencies, hosts: this.opts.yaml.hosts.map((h) => h.name) };
    const held = this.config.version === null ? null : { id: this.config.clusterId, name: this.config.clusterName };
    this.send(stream, {
      type: 'hello',
      agentId: this.opts.id,
      clusterId: this.config.clusterId,
      // A controller of another name then refuses it before claiming it (hub.ts, foreignBy).
      clusterName: this.config.clusterName,
      hasConfig: this.config.version !== null,
      version: this.config.version ?? 0,
      manifest: this.config.manifest(),
      epoch: { boot: this.boot, seq: ++this.seq },
      info,
      hosts: this.opts.yaml.hosts,
      rejectedVersion: this.config.rejected,
      // It joins a push sent in parts (push-parts.ts).
      pushParts: true,
      // A controller of another cluster of its name then refuses it before claiming it (hub.ts, foreignBy).
      heldClusterOnly: refusesSiblings(held, heldAddresses(this.welcomedFor, address, held?.id ?? null)),
    });
  }

  private onPush(stream: SyncStream, push: ReceivedPush, resync: () => void, retryWrite: (version: number) => void): void {
    const verdict = this.config.judge(push);
    // The name of the cluster this push comes from (the welcome's), kept with what is accepted.
    const told = this.welcomed?.clusterName ?? '';
    const clusterName = told !== '' ? told : push.clusterId === this.config.clusterId ? this.config.clusterName : '';
    switch (verdict.type) {
      case 'resync':
        this.opts.logger.warn({ reason: verdict.reason }, 'resyncing');
        resync();
        return;
      case 'reject':
        this.opts.logger.warn({ version: push.version, error: verdict.error }, 'configuration rejected (NACK); keeping the last good one');
        this.config.reject(push.version);
        // A newer version judged wrong: asking again for one it could not write would only
        // bring this verdict back.
        if (this.writeRetry !== null) clearTimeout(this.writeRetry);
        this.writeRetry = null;
        this.send(stream, { type: 'nack', nonce: push.nonce, version: push.version, error: verdict.error });
        return;
      case 'accept':
        // Without --out nothing is written first: acknowledged in the same turn, no promise.
        if (this.opts.out === null) this.accept(stream, push, verdict.next, clusterName);
        else void this.writeThenAccept(this.opts.out, stream, push, this.config.whole(verdict.next), clusterName, retryWrite);
        return;
      default: {
        const never: never = verdict;
        return never;
      }
    }
  }

  /**
   * --out first: an agent acknowledges only what it wrote. A failed write is a NACK (the cluster
   * shows why), but not a rejection: after a back-off the agent starts a new stream, whose hello
   * claims no rejection, so the controller offers the version again and the write is tried anew.
   */
  private async writeThenAccept(out: string, stream: SyncStream, push: ReceivedPush, next: WholeCandidate, clusterName: string, retryWrite: (version: number) => void): Promise<void> {
    try {
      await writeAtomically(out, configText(AgentConfig.json(next, clusterName)));
    } catch (err) {
      const error = `cannot write ${out}: ${(err as Error).message}`;
      const delayMs = writeRetryDelayMs(++this.writeFailures, this.opts.rng);
      this.opts.logger.error({ err, version: push.version, retryInMs: delayMs }, error);
      this.send(stream, { type: 'nack', nonce: push.nonce, version: push.version, error });
      if (this.stream !== stream || this.stopped) return;
      if (this.writeRetry !== null) clearTimeout(this.writeRetry);
      this.writeRetry = setTimeout(() => {
        this.writeRetry = null;
        retryWrite(push.version);
      }, delayMs);
      return;
    }
    this.accept(stream, push, next, clusterName);
  }

  private accept(stream: SyncStream, push: ReceivedPush, next: Candidate, clusterName: string): void {
    this.writeFailures = 0;
    if (this.writeRetry !== null) clearTimeout(this.writeRetry);
    this.writeRetry = null;
    this.config.commit(next, clusterName);
    this.send(stream, { type: 'ack', nonce: push.nonce, version: push.version });
    if (this.opts.logger.isLevelEnabled('debug')) this.opts.logger.debug({ version: push.version, resources: this.config.size }, 'configuration accepted (ACK)');
    this.opts.onAccepted?.(push.version);
  }

  private send(stream: SyncStream, m: AgentMessage): void {
    if (this.stream !== stream) return;
    stream.write(encodeAgentFrame(m));
  }

  /** Starts the watchdog afresh: `onSilence` runs after timeoutMs without a message. */
  private arm(onSilence: () => void): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.heard(onSilence);
  }

  /**
   * A message arrived. The watchdog is not re-armed per message (a timer per message costs more
   * than the message in a process of thousands of agents): when it fires it checks the time of
   * the last message and waits out the rest.
   */
  private heard(onSilence: () => void): void {
    this.lastHeardAt = performance.now();
    this.onSilence = onSilence;
    if (this.watchdog !== null) return;
    const arm = (delay: number): void => {
      const due = performance.now() + delay;
      this.watchdog = setTimeout(() => check(due), delay);
    };
    const check = (due: number): void => {
      const now = performance.now();
      // Fired late: our own loop was stalled (a GC, a busy process), and Node runs expired
      // timers before it reads the sockets. The stall is not the controller's silence.
      const stalled = now - due;
      if (stalled > STALL_FORGIVEN_AFTER_MS) this.lastHeardAt = Math.min(now, this.lastHeardAt + stalled);
      const left = this.lastHeardAt + this.timeoutMs - now;
      if (left > 0) {
        arm(left);
        return;
      }
      this.watchdog = null;
      this.onSilence();
    };
    arm(this.timeoutMs);
  }

  private clearTimers(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    if (this.retry !== null) clearTimeout(this.retry);
    if (this.writeRetry !== null) clearTimeout(this.writeRetry);
    this.watchdog = null;
    this.retry = null;
    this.writeRetry = null;
  }
}

function outcomeOf(code: grpc.status): AttemptOutcome {
  if (code === grpc.status.ABORTED) return 'taken-over';
  // The controller found this agent's configuration is another cluster's (hub.ts, foreignBy).
  if (code === grpc.status.FAILED_PRECONDITION) return 'foreign';
  if (code === grpc.status.PERMISSION_DENIED || code === grpc.status.INVALID_ARGUMENT || code === grpc.status.UNAUTHENTICATED) return 'refused';
  return 'ended';
}

/** The largest message an agent takes: the most a controller sends (a big push comes in parts of at most this). */
export const AGENT_MAX_RECEIVE_BYTES = MAX_SEND_MESSAGE_BYTES;
