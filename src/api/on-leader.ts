/**
 * Runs a request where only the leader can serve it: here when this node leads, otherwise
 * forwarded to the leader once (a forwarded request is never forwarded again). While there is
 * no leader, or leadership moves under the request, it retries until its deadline, unless this
 * node is cut off from a quorum (quorum-guard.ts): then it answers NO_QUORUM at once, also
 * when that happens while it waits, so the client moves on to another endpoint. Likewise when
 * this node cannot reach the leader it knows (a link down one way: the leader still heartbeats
 * it) for `forwardBudgetMs`: NO_LEADER, and the client tries another controller with the time it
 * has left, instead of waiting out its deadline here. A forward the leader is still working on is
 * not "not reached": with `leaderHeardAt`, a forward carries the client's deadline and is given
 * up only once this node has heard nothing from that leader for the budget (a burst of large
 * writes kept a live, heartbeating leader busy past the budget, and a follower that cut its
 * forwards there answered NO_LEADER, or passed the leader a deadline of milliseconds: TIMEOUT).
 * A write retried elsewhere keeps its client ref, so it applies once. Only for requests the
 * leader answers within a commit (BOUNDED_ON_LEADER); one that waits there for more (a learner
 * catching up before its promotion, a leadership hand-off) keeps the client's deadline. A refusal made before the request was run
 * here or forwarded says so (`not-proposed`): the client's next attempt of the write is then no
 * retry.
 */
import { leaderErrorOf, type ConsensusPort } from './consensus-port.js';
import { RaftError } from '../raft/errors.js';
import { ServiceFailure, toServiceFailure } from './service-error.js';
import { deadlineSpentOnArrival } from './unary-handler.js';

/** Sends a request on to the leader at `address` (LeaderForwarder does, over gRPC). */
export interface ForwardToLeader {
  /** `signal`: the forward is given up; stop it and reject (with its reason) as soon as may be. */
  call<Res>(address: string, method: string, request: object, deadline: number, signal?: AbortSignal): Promise<Res>;
}

export interface OnLeaderDeps {
  readonly id: string;
  readonly host: ConsensusPort;
  readonly addressOf: (id: string) => string | null;
  readonly forwarder: ForwardToLeader;
  /** Why this node cannot serve a request that needs the cluster now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
  /** How long to keep forwarding to one leader that does not answer; default: until the deadline. */
  readonly forwardBudgetMs?: number;
  /**
   * When (ms since the epoch) this node last had a message from `leader` as its leader; null
   * when `leader` is not its leader. Absent: each forward is cut at the budget, however alive
   * the leader is.
   */
  readonly leaderHeardAt?: (leader: string) => number | null;
}

/** Methods a leader answers within a commit or two: a forward of one may be given up early. */
export const BOUNDED_ON_LEADER: ReadonlySet<string> = new Set(['put', 'delete', 'configSet', 'memberAdd', 'Apply', 'DeleteResource']);

/** How long a wait for a leader runs before the node checks again whether it is cut off. */
const RECHECK_MS = 100;

/** Throws NO_QUORUM when `cutOff` says this node cannot serve. */
export function refuseIfCutOff(cutOff: (() => string | null) | undefined): void {
  const reason = cutOff?.() ?? null;
  if (reason !== null) throw new ServiceFailure('NO_QUORUM', reason);
}

export type OnLeader = <Res>(
  method: string,
  req: { readonly forwarded: boolean },
  deadline: number,
  /** `retried`: an earlier attempt may have been proposed, so a write's entry carries its client ref's `retry`. */
  local: (remaining: number, retried: boolean) => Promise<Res>,
  /**
   * A write's request marked as a retry (its client ref's `retry`): forwarded instead of `req`
   * once an earlier attempt may have been proposed (a forward lost mid-call), so that the
   * leader refuses it SESSION_EXPIRED rather than apply it twice should its record be gone.
   */
  asRetry?: { readonly forwarded: boolean },
) => Promise<Res>;

/**
 * Whether an attempt's failure shows it was not proposed: refused by the core before appending
 * (not the leader, a transfer, the bound on uncommitted bytes), its entry replaced by a newer
 * leader's, or a forward the leader answered so.
 */
function notProposed(err: unknown): boolean {
  if (err instanceof ServiceFailure) return err.notProposed;
  return leaderErrorOf(err) !== null || (err instanceof RaftError && err.code === 'PROPOSAL_DROPPED');
}

/**
 * The final failure, marked `notProposed` exactly when no attempt of the request may have been
 * proposed (none was made, or each was refused before proposing): the client's next attempt of
 * the write is then no retry, which a full exactly-once table would refuse SESSION_EXPIRED
 * (src/statemachine/dedup.ts). A forwarded answer's mark does not pass on when an earlier
 * attempt may have been proposed.
 */
function finalFailure(err: unknown, uncertain: boolean): unknown {
  if (uncertain) return err instanceof ServiceFailure && err.notProposed ? new ServiceFailure(err.code, err.message) : err;
  if (err instanceof ServiceFailure) return err.notProposed ? err : new ServiceFailure(err.code, err.message, true);
  if (!notProposed(err)) return err;
  const f = toServiceFailure(err);
  return new ServiceFailure(f.code, f.message, true);
}

export function onLeaderOf(deps: OnLeaderDeps): OnLeader {
  const { host } = deps;
  return async function onLeader<Res>(
    method: string,
    req: { readonly forwarded: boolean },
    deadline: number,
    local: (remaining: number, retried: boolean) => Promise<Res>,
    asRetry?: { readonly forwarded: boolean },
  ): Promise<Res> {
    /** Whether an attempt (run here or forwarded) failed without showing it was not proposed. */
    const seen = { uncertain: false };
    try {
      return await attempts(method, req, deadline, local, seen, asRetry ?? req);
    } catch (err) {
      throw finalFailure(err, seen.uncertain);
    }
  };

  async function attempts<Res>(
    method: string,
    req: { readonly forwarded: boolean },
    deadline: number,
    local: (remaining: number, retried: boolean) => Promise<Res>,
    seen: { uncertain: boolean },
    asRetry: { readonly forwarded: boolean },
  ): Promise<Res> {
    const attempt = async (run: () => Promise<Res>): Promise<Res> => {
      try {
        return await run();
      } catch (err) {
        if (!notProposed(err)) seen.uncertain = true;
        throw err;
      }
    };
    const budget = BOUNDED_ON_LEADER.has(method) ? (deps.forwardBudgetMs ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
    // Since when the leader of that name has not answered this request's forwards, and why.
    const silence: { current: { readonly leader: string; readonly since: number; reason: string } | null; gaveUp: ServiceFailure | null } = { current: null, gaveUp: null };
    for (let first = true; ; first = false) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 && first) throw deadlineSpentOnArrival();
      if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader answered before the deadline');
      refuseIfCutOff(deps.cutOff);
      const leader = host.softState().leader ?? (await host.waitForLeader(Math.min(remaining, RECHECK_MS)));
      if (leader === null) {
        if (deadline - Date.now() > 0) continue;
        throw new ServiceFailure('NO_LEADER', `no leader elected within ${Math.round(remaining)}ms`);
      }
      try {
        if (leader === deps.id) return await attempt(() => local(deadline - Date.now(), seen.uncertain));
        if (req.forwarded) throw new ServiceFailure('NOT_LEADER', `${deps.id} is not the leader (leader is ${leader})`);
        const address = deps.addressOf(leader);
        if (address === null) throw new ServiceFailure('NO_LEADER', `leader ${leader} has no known address`);
        if (silence.current !== null && silence.current.leader !== leader) silence.current = null;
        const began = silence.current?.since ?? Date.now();
        if (Date.now() - began >= budget) {
          silence.gaveUp = new ServiceFailure(
            'NO_LEADER',
            `${deps.id} has not reached leader ${leader} at ${address} for ${Math.round(Date.now() - began)}ms (${silence.current?.reason ?? 'no answer'}): try another controller`,
          );
          throw silence.gaveUp;
        }
        try {
          const forward = seen.uncertain ? asRetry : req;
          const heardAt = deps.leaderHeardAt;
          if (heardAt === undefined || !Number.isFinite(budget)) {
            return await attempt(() => deps.forwarder.call<Res>(address, method, forward, Math.min(deadline, began + budget)));
          }
          return await attempt(() =>
            whileLeaderHeard(began, budget, () => heardAt(leader), address, (signal) => deps.forwarder.call<Res>(address, method, forward, deadline, signal)),
          );
        } catch (err) {
          // A broken or silent link to this leader (the forwarder's own NO_LEADER): count the time,
          // from when the forward began; for one that waited on a leader it heard, from when it
          // failed (a link reset in a burst is not a budget of silence already spent).
          if (err instanceof ServiceFailure && err.code === 'NO_LEADER') {
            const watched = deps.leaderHeardAt !== undefined && !(err instanceof LeaderSilence);
            silence.current ??= { leader, since: watched ? Date.now() : began, reason: err.message };
            silence.current.reason = err.message;
          }
          throw err;
        }
      } catch (err) {
        if (err === silence.gaveUp) throw err; // the client's to retry elsewhere, not ours
        const retriable =
          leaderErrorOf(err) !== null ||
          (err instanceof ServiceFailure && err.code === 'NO_LEADER' && !req.forwarded);
        if (!retriable || req.forwarded) throw err;
        await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
      }
    }
  }
}

/** A forward given up for its leader's silence: the budget is spent (whileLeaderHeard). */
class LeaderSilence extends ServiceFailure {
  constructor(message: string) {
    super('NO_LEADER', message);
  }
}

/**
 * Runs a forward with the client's deadline while its leader shows life: it is given up (NO_LEADER,
 * as a leader the forwarder cannot reach) once this node has heard nothing from that leader as
 * its leader for `budget` ms, counted from the later of `began` and the leader's last message.
 * A leader busy with a burst keeps heartbeating and keeps its forwards; a frozen one, or one
 * deposed meanwhile, loses them after the budget as before.
 */
export function whileLeaderHeard<Res>(
  began: number,
  budget: number,
  heardAt: () => number | null,
  address: string,
  forward: (signal: AbortSignal) => Promise<Res>,
): Promise<Res> {
  const abort = new AbortController();
  let lastSign = began;
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    const check = (): void => {
      lastSign = Math.max(lastSign, heardAt() ?? Number.NEGATIVE_INFINITY);
      const quiet = Date.now() - lastSign;
      if (quiet < budget) {
        timer = setTimeout(check, Math.min(RECHECK_MS, budget - quiet));
        return;
      }
      const why = new LeaderSilence(`leader at ${address} unreachable: no answer, and no message from it for ${Math.round(quiet)}ms`);
      abort.abort(why);
      reject(why);
    };
    timer = setTimeout(check, Math.min(RECHECK_MS, budget));
  });
  const answer = forward(abort.signal);
  // Whichever loses the race is settled unobserved.
  answer.catch(() => undefined);
  silent.catch(() => undefined);
  return Promise.race([answer, silent]).finally(() => clearTimeout(timer));
}
