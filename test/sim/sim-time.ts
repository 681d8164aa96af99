/**
 * Simulated time for the drivers. One SimWorld holds the clock and the agenda of every event
 * in a simulation (timers, "run soon" callbacks, message deliveries, disk completions), ordered
 * by (time, order of scheduling), so a seed replays exactly. Each running process gets a
 * SimProcess: the Scheduler its RaftHost or MembershipDriver runs on.
 *
 * A process can die (its pending events are dropped), stall (a starved or SIGSTOPped process:
 * its events wait, and on resume its timers fire first, once each, as Node's do) and miss timer
 * firings (a starved timer fires less often).
 */
import type { Scheduler, Timer } from '../../src/util/clock.js';
import { Agenda } from './agenda.js';

/** The wall clock at simulated time 0, for audit timestamps. */
const EPOCH_MS = Date.UTC(2025, 0, 1);

export class SimWorld {
  now = 0;
  private readonly agenda = new Agenda();
  /** Runs after every event: the simulation's per-event checks. */
  afterEvent: (() => void) | null = null;

  at(time: number, fn: () => void): void {
    if (time < this.now) throw new Error(`sim: event scheduled in the past (${time} < ${this.now})`);
    this.agenda.push(time, fn);
  }

  /** Runs every event due up to and including `until`; the clock then reads `until`. */
  runUntil(until: number): void {
    for (;;) {
      const next = this.agenda.peekTime();
      if (next === null || next > until) break;
      const e = this.agenda.pop()!;
      this.now = e.at;
      e.fn();
      this.afterEvent?.();
    }
    this.now = Math.max(this.now, until);
  }

  pending(): number {
    return this.agenda.size;
  }
}

/** What a process's storage and network endpoints need from its time, besides a Scheduler. */
export interface ProcessTime extends Scheduler {
  readonly alive: boolean;
  /** Runs `fn` as an event of this process `delayMs` from now: an I/O completion, a report. */
  post(delayMs: number, fn: () => void): void;
  /** Runs `fn` now as an event of this process (a delivery): held while it stalls, dropped once it died. */
  dispatch(fn: () => void): void;
}

interface Held {
  readonly timer: { cancelled: boolean } | null;
  readonly fn: () => void;
}

export class SimProcess implements ProcessTime {
  alive = true;
  /** Set by a test: asked at each firing of a periodic timer; true skips it (a starved timer). */
  missTimer: (() => boolean) | null = null;
  private stalled = false;
  private held: Held[] = [];
  private inEvent = false;
  private microtasks: (() => void)[] = [];

  /**
   * `firstPeriod`: the share (0, 1] of its period before a periodic timer first fires. A real
   * process starts at an instant of its own, so its timers are out of phase with every other
   * process's; without this, processes (re)started at the same simulated instant tick in
   * lockstep for ever, and their elections collide far more often than real ones do.
   */
  constructor(
    private readonly world: SimWorld,
    private readonly firstPeriod: () => number = () => 1,
  ) {}

  now(): number {
    return this.world.now;
  }

  wallClockMs(): number {
    return EPOCH_MS + Math.floor(this.world.now);
  }

  after(ms: number, fn: () => void): Timer {
    const handle = { cancelled: false };
    this.world.at(this.world.now + Math.max(0, ms), () => this.run(handle, fn));
    return { cancel: () => (handle.cancelled = true) };
  }

  every(ms: number, fn: () => void): Timer {
    if (!(ms > 0)) throw new Error(`sim: timer period must be positive, got ${ms}`);
    const handle = { cancelled: false };
    const fire = (): void => {
      if (handle.cancelled || !this.alive) return;
      this.world.at(this.world.now + ms, fire);
      if (this.stalled || this.missTimer?.() !== true) this.run(handle, fn);
    };
    this.world.at(this.world.now + ms * this.firstPeriod(), fire);
    return { cancel: () => (handle.cancelled = true) };
  }

  soon(fn: () => void): void {
    this.world.at(this.world.now, () => this.run(null, fn));
  }

  /** As Node's microtasks: after the current event's callback, before any other event. */
  asap(fn: () => void): void {
    if (this.inEvent) this.microtasks.push(fn);
    else this.soon(fn);
  }

  post(delayMs: number, fn: () => void): void {
    this.world.at(this.world.now + Math.max(0, delayMs), () => this.run(null, fn));
  }

  dispatch(fn: () => void): void {
    this.run(null, fn);
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  /** The process stops running: its events wait until `resume`. */
  stall(): void {
    this.stalled = true;
  }

  /** Runs what waited: expired timers first (each once), then the rest in order. */
  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    const held = this.held;
    this.held = [];
    for (const h of held) if (h.timer !== null) this.run(h.timer, h.fn);
    for (const h of held) if (h.timer === null) this.run(null, h.fn);
  }

  /** The process dies: nothing it scheduled runs any more. */
  kill(): void {
    this.alive = false;
    this.held = [];
  }

  private run(timer: { cancelled: boolean } | null, fn: () => void): void {
    if (!this.alive || timer?.cancelled === true) return;
    if (this.stalled) {
      if (timer === null || !this.held.some((h) => h.timer === timer)) this.held.push({ timer, fn });
      return;
    }
    if (this.inEvent) {
      fn(); // nested (a dispatch from inside an event): the outer event runs the microtasks
      return;
    }
    this.inEvent = true;
    try {
      fn();
      // A process that dies in an event loses what it had queued, as a killed process does.
      for (let next = this.microtasks.shift(); next !== undefined && this.alive; next = this.microtasks.shift()) next();
    } finally {
      this.inEvent = false;
      this.microtasks = [];
    }
  }
}
