/**
 * CPU time of one process split by thread, from /proc/<pid>/task: a Node process does its
 * JavaScript on the main thread (tid = pid); the rest is libuv's pool (LevelDB writes and
 * fsyncs), V8's compiler and GC helpers, and nothing else of ours.
 */
import fs from 'node:fs';

/** clock ticks per second of /proc times (USER_HZ, 100 on Linux). */
const HZ = 100;

export interface ThreadCpu {
  /** The main thread (the event loop), ms. */
  readonly mainMs: number;
  /** Every other thread, ms. */
  readonly otherMs: number;
}

function taskMs(pid: number, tid: string): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ;
  } catch {
    return 0; // the thread ended meanwhile
  }
}

/**
 * Main-thread and other-thread CPU of `pid` so far; null when the process is gone. Threads that
 * ended before the call are not counted, so take differences over windows where the process
 * keeps its threads (Node's pools are long-lived).
 */
export function threadCpu(pid: number): ThreadCpu | null {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let mainMs = 0;
  let otherMs = 0;
  for (const tid of tids) {
    const ms = taskMs(pid, tid);
    if (tid === String(pid)) mainMs += ms;
    else otherMs += ms;
  }
  return { mainMs, otherMs };
}

export function minus(a: ThreadCpu, b: ThreadCpu): ThreadCpu {
  return { mainMs: Math.max(0, a.mainMs - b.mainMs), otherMs: Math.max(0, a.otherMs - b.otherMs) };
}

/**
 * Context switches of the main thread so far (voluntary: it blocked, mostly in epoll_wait
 * between events, so each is one sleep and one wake-up of the event loop), or null when gone.
 */
export function mainThreadSwitches(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
