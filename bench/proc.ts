/**
 * What the processes under test cost, read from /proc by PID: CPU time and resident memory.
 * Also the whole machine's busy time, so a run can say how much CPU went to processes that are
 * not part of the benchmark (other jobs on a shared machine are the main source of noise).
 */
import fs from 'node:fs';
import os from 'node:os';

/** clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const HZ = 100;

/** user + system CPU of one process in ms, or null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ;
  } catch {
    return null;
  }
}

/** Resident set size of one process in MB, or null when it is gone. */
export function rssMB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** One process's memory in MB: resident (anonymous and file-backed), and from smaps_rollup its
 * proportional share (file pages shared with other processes divided among them) and the pages
 * only it has written, which no other process shares and the kernel cannot drop. */
export interface MemoryMB {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly pss: number;
  readonly privateDirty: number;
}

function kB(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) / 1024 : 0;
}

/** The memory of `pid`, or null when it is gone. */
export function memoryMB(pid: number): MemoryMB | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      rss: kB(status, 'VmRSS'),
      anon: kB(status, 'RssAnon'),
      file: kB(status, 'RssFile'),
      pss: kB(rollup, 'Pss'),
      privateDirty: kB(rollup, 'Private_Dirty'),
    };
  } catch {
    return null;
  }
}

/** Busy CPU of the whole machine in ms (all cores), from /proc/stat. */
export function machineBusyMs(): number {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / HZ;
  } catch {
    return 0;
  }
}

/** CPU used between start() and stop(): by the given server PIDs, by this process, by the rest. */
export interface CpuWindow {
  /** Server CPU in ms, summed over the PIDs. */
  readonly serverMs: number;
  /** This benchmark process (the load generator) in ms. */
  readonly clientMs: number;
  /** Everything else on the machine, in ms: other jobs, the kernel's share we cannot attribute. */
  readonly foreignMs: number;
  readonly wallMs: number;
}

export class CpuMeter {
  private readonly server0: number[];
  private readonly client0: NodeJS.CpuUsage;
  private readonly machine0: number;
  private readonly t0: number;

  constructor(private readonly pids: readonly number[]) {
    this.server0 = pids.map((p) => cpuMs(p) ?? 0);
    this.client0 = process.cpuUsage();
    this.machine0 = machineBusyMs();
    this.t0 = performance.now();
  }

  stop(): CpuWindow {
    const serverMs = this.pids.reduce((sum, p, i) => sum + Math.max(0, (cpuMs(p) ?? 0) - this.server0[i]!), 0);
    const c = process.cpuUsage(this.client0);
    const clientMs = (c.user + c.system) / 1000;
    const machineMs = machineBusyMs() - this.machine0;
    return { serverMs, clientMs, foreignMs: Math.max(0, machineMs - serverMs - clientMs), wallMs: performance.now() - this.t0 };
  }
}

/** The 1-minute load average and the core count, to judge how busy the machine was. */
export function load(): { load1: number; cores: number } {
  return { load1: os.loadavg()[0] ?? 0, cores: os.cpus().length };
}
