/** One thread of a Fleet (fleet.ts): a Swarm of our agents, or etcd Watchers. */
// Agents run with the agent binary's V8 tiering; V8's flags are the process's, so etcd's
// watchers get the same.
import { parentPort, workerData } from 'node:worker_threads';
import { tuneForServing } from '../src/cli/server-tiering.js';
import { Swarm } from '../src/agent/swarm.js';
import { Watchers } from './etcd-watchers.js';
import type { FleetConfig, FleetStats } from './fleet.js';

type ToWorker =
  | { readonly type: 'grow'; readonly count: number; readonly startRevision: number; readonly offset: number }
  | { readonly type: 'track'; readonly version: number }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop' };

const config = workerData as FleetConfig & { readonly worker: number };
const port = parentPort!;
const abs = (t: number): number => performance.timeOrigin + t;

const swarm = config.kind === 'ours' ? new Swarm({ count: 0, controllers: config.endpoints, prefix: `agent-w${config.worker}-`, seed: config.seed }) : null;
const watchers = config.kind === 'etcd' ? new Watchers(config.endpoints, config.key ?? 'bench/agents/config', config.watchClient ?? 'grpc-js') : null;
const tracked = new Set<number>();
tuneForServing();

/**
 * The times the first and the last local agent (watcher) reached their version, once every one
 * is at `v` or later; null while one is behind. An early exit: it runs every 2 ms during a
 * fan-out, in the thread whose agents are being timed (the same code for both systems).
 */
function allAt(v: number): { first: number; last: number } | null {
  const n = swarm !== null ? swarm.agents.length : watchers!.count;
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const version = swarm !== null ? (swarm.agents[i]!.config.version ?? -1) : watchers!.lastRevision[i]!;
    if (version < v) return null;
    const at = swarm !== null ? swarm.acceptedAt[i]! : watchers!.receivedAt[i]!;
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  return { first, last };
}

const poll = setInterval(() => {
  for (const v of tracked) {
    const at = allAt(v);
    if (at === null) continue;
    tracked.delete(v);
    port.postMessage({ type: 'at', version: v, first: abs(at.first), at: abs(at.last) });
  }
}, 2);

function stats(): FleetStats {
  if (swarm !== null) {
    const s = swarm.stats();
    return { agents: s.agents, connected: s.connected, by: s.controllers, bytes: swarm.pushBytes };
  }
  const w = watchers!;
  const by: Record<string, number> = {};
  let connected = 0;
  for (let i = 0; i < w.count; i++) {
    if (!w.created[i]) continue;
    connected++;
    const m = config.endpoints[w.member[i]!]!;
    by[m] = (by[m] ?? 0) + 1;
  }
  return { agents: w.count, connected, by, bytes: w.duplicateBytes };
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'grow':
      if (swarm !== null) {
        swarm.grow(m.count);
        swarm.start();
      } else watchers!.add(m.count, m.startRevision, m.offset);
      return;
    case 'track':
      tracked.add(m.version);
      return;
    case 'stats':
      port.postMessage({ type: 'stats', id: m.id, stats: stats() });
      return;
    case 'stop':
      clearInterval(poll);
      watchers?.stop();
      void (swarm?.stop() ?? Promise.resolve()).then(() => {
        port.postMessage({ type: 'stopped' });
        process.exit(0);
      });
      return;
    default: {
      const never: never = m;
      return never;
    }
  }
});
