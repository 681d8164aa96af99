/**
 * A preload for measuring a controller's memory from outside (`bench/agent-memory.ts`), never
 * shipped: `node --expose-gc --import dist/bench/mem-probe.js controller.js ...` with
 * MEM_PROBE_DIR set. On SIGUSR2 it reads `$MEM_PROBE_DIR/request.json` ({ label, snapshot,
 * sampling }) and writes `$MEM_PROBE_DIR/<pid>-<label>.json`: process.memoryUsage() and V8's
 * heap spaces as they are, then after two forced collections; with `snapshot`, a heap snapshot
 * beside it; `sampling: 'start' | 'stop'` starts the sampling heap profiler or writes its profile.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import v8 from 'node:v8';

interface Request {
  readonly label: string;
  readonly snapshot?: boolean;
  readonly sampling?: 'start' | 'stop';
}

const dir = process.env.MEM_PROBE_DIR;
const collect = (globalThis as { gc?: () => void }).gc;

function reading(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(process.memoryUsage())) out[k] = v;
  for (const s of v8.getHeapSpaceStatistics()) {
    out[`${s.space_name}.used`] = s.space_used_size;
    out[`${s.space_name}.committed`] = s.space_size;
  }
  const h = v8.getHeapStatistics();
  out.malloced = h.malloced_memory;
  out.external = h.external_memory;
  return out;
}

let session: Session | null = null;

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session!.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}

async function handle(): Promise<void> {
  if (dir === undefined) return;
  const req = JSON.parse(fs.readFileSync(path.join(dir, 'request.json'), 'utf8')) as Request;
  const base = path.join(dir, `${process.pid}-${req.label}`);
  const before = reading();
  collect?.();
  collect?.();
  const after = reading();
  fs.writeFileSync(`${base}.json.tmp`, JSON.stringify({ before, after }));
  if (req.snapshot === true) v8.writeHeapSnapshot(`${base}.heapsnapshot`);
  // After the snapshot: the profile is JS objects, which the snapshot would count as the agents'.
  if (req.sampling === 'stop' && session !== null) {
    const res = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
    fs.writeFileSync(`${base}.heapprofile`, JSON.stringify(res.profile));
  }
  if (req.sampling === 'start') {
    session ??= new Session();
    session.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 512 });
  }
  fs.renameSync(`${base}.json.tmp`, `${base}.json`);
}

process.on('SIGUSR2', () => {
  handle().catch((err: unknown) => process.stderr.write(`mem-probe: ${String(err)}\n`));
});
