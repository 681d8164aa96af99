/**
 * Reads this machine's resources: CPUs and memory from Node's os module, the CPU flags from
 * /proc/cpuinfo (x86 `flags`, Arm `Features`; none where there is no such file), free disk
 * from the file system holding the data dir, and the load averages.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import type { LiveResources, MachineReading, StaticResources } from './types.js';
import { CPU_FLAG_PATTERN, MAX_CPU_FLAGS, MAX_CPU_MODEL_BYTES, normalizeFlags } from './validate.js';

/** The first `flags` (or `Features`) line of a /proc/cpuinfo text, as valid flag names. */
export function cpuFlagsFromCpuinfo(text: string): string[] {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(text)?.[1] ?? '';
  return normalizeFlags(line.split(/\s+/).filter((f) => CPU_FLAG_PATTERN.test(f))).slice(0, MAX_CPU_FLAGS);
}

async function readCpuFlags(): Promise<string[]> {
  try {
    return cpuFlagsFromCpuinfo(await fs.readFile('/proc/cpuinfo', 'utf8'));
  } catch {
    return []; // not Linux, or not readable: no flags to report
  }
}

export async function readStatic(): Promise<StaticResources> {
  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? '').trim() || 'unknown';
  return {
    cpus: Math.max(1, cpus.length),
    cpuModel: Buffer.byteLength(model) > MAX_CPU_MODEL_BYTES ? model.slice(0, MAX_CPU_MODEL_BYTES / 4) : model,
    cpuFlags: await readCpuFlags(),
    memoryBytes: os.totalmem(),
  };
}

export async function readLive(dataDir: string, now: () => number = Date.now): Promise<LiveResources> {
  const st = await fs.statfs(dataDir);
  const [one, five, fifteen] = os.loadavg();
  return { diskFreeBytes: st.bavail * st.bsize, loadAverage: [one ?? 0, five ?? 0, fifteen ?? 0], readAt: now() };
}

export async function readMachine(dataDir: string, includeStatic: boolean): Promise<MachineReading> {
  const [s, live] = await Promise.all([includeStatic ? readStatic() : Promise.resolve(null), readLive(dataDir)]);
  return { static: s, live };
}
