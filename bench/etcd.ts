/**
 * etcd 3.4 as the comparison: an N-member cluster on loopback with the same heartbeat and
 * election timeout as ours, driven through its v3 JSON gateway (the method) with
 * keep-alive HTTP connections, or with --etcd-api grpc through its gRPC KV service with the
 * same grpc-js client stack ours uses. Debian's `etcd-server` package provides the binary; when it is
 * missing the benchmark installs it with apt-get (as root), or says which command would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from '../test/helpers/free-ports.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { etcdService } from './etcd-proto.js';
import { rssMB } from './proc.js';
import type { BenchCluster, FailoverSample } from './system.js';
import { firstSuccess, VALUE, type KvClient, type KvTarget } from './workloads.js';

const INSTALL = 'apt-get install -y etcd-server';

export function findEtcd(): string | null {
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (fs.existsSync(p)) return p;
  return null;
}

export function etcdVersion(bin: string): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return /etcd Version:\s*(\S+)/.exec(r.stdout ?? '')?.[1] ?? null;
}

/** The etcd binary; installs Debian's etcd-server when it is missing and we are root. */
export function ensureEtcd(log: (s: string) => void): string {
  const found = findEtcd();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`etcd is not installed; install it with: sudo ${INSTALL}   (or pass --etcd PATH)`);
  }
  log(`etcd not found; running: apt-get update && ${INSTALL}`);
  const r = spawnSync('bash', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${INSTALL} -qq`], { stdio: 'inherit' });
  const after = findEtcd();
  if (r.status !== 0 || !after) throw new Error(`apt-get could not install etcd; install it with: ${INSTALL}`);
  // The package enables a system service; make sure none is running on the default ports.
  spawnSync('bash', ['-c', 'command -v systemctl >/dev/null && systemctl disable --now etcd 2>/dev/null || true']);
  return after;
}

function post(agent: http.Agent, port: number, urlPath: string, body: object, timeoutMs: number): Promise<Record<string, unknown>> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`etcd ${urlPath}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`etcd ${urlPath} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** How the load talks to etcd: the JSON gateway (HTTP/1.1) or gRPC (HTTP/2, grpc-js). */
export type EtcdApi = 'json' | 'grpc';

function grpcClient(port: number): KvClient {
  const KV = etcdService('KV');
  // One connection per client, as ours have (each ControllerClient keeps its own) and as the
  // JSON gateway's below: grpc-js would otherwise put every client of one address on one
  // shared connection, whose writes coalesce, and only etcd's load would have that.
  const c = new KV(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = (method: 'Put' | 'Range', request: object): Promise<void> =>
    new Promise((resolve, reject) => {
      const fn = c[method] as (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
      fn.call(c, request, { deadline: Date.now() + 5000 }, (err) => (err ? reject(err) : resolve()));
    });
  return {
    put: (key, value) => call('Put', { key: Buffer.from(key), value: Buffer.from(value) }),
    get: (key) => call('Range', { key: Buffer.from(key) }),
    close: () => c.close(),
  };
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  proc: ChildProcess | null;
  stderr: string;
}

interface MemberStatus {
  readonly leader: string;
  readonly self: string;
  readonly raftIndex: number;
  readonly appliedIndex: number;
}

export class EtcdCluster implements BenchCluster {
  readonly system = 'etcd' as const;
  /** For admin calls (status, rejoin checks); the load has its own agents. */
  private readonly admin = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    private readonly members: Member[],
    private readonly api: EtcdApi,
  ) {}

  static async start(bin: string, nodes: number, api: EtcdApi = 'json'): Promise<EtcdCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-etcd-'));
    const ports = await freePorts(nodes * 2);
    const members: Member[] = Array.from({ length: nodes }, (_, i) => ({
      name: `e${i + 1}`,
      clientPort: ports[i * 2]!,
      peerPort: ports[i * 2 + 1]!,
      proc: null,
      stderr: '',
    }));
    const c = new EtcdCluster(bin, dir, members, api);
    for (const m of members) c.startMember(m, 'new');
    try {
      await c.leader(60000);
    } catch (err) {
      const tail = members.map((m) => `${m.name}: ${m.stderr.slice(-400)}`).join('\n');
      await c.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tail}`, { cause: err });
    }
    return c;
  }

  get size(): number {
    return this.members.length;
  }

  private startMember(m: Member, state: 'new' | 'existing'): void {
    const initial = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    // prettier-ignore
    const args = [
      '--name', m.name,
      '--data-dir', path.join(this.dir, m.name),
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initial,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'bench',
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--logger', 'zap',
      '--log-level', 'error',
    ];
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    m.stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      m.stderr = (m.stderr + d.toString()).slice(-4000);
    });
    proc.on('exit', () => {
      if (m.proc === proc) m.proc = null;
    });
    m.proc = proc;
  }

  private async status(m: Member): Promise<MemberStatus | null> {
    try {
      const s = await post(this.admin, m.clientPort, '/v3/maintenance/status', {}, 1000);
      const header = (s['header'] ?? {}) as Record<string, unknown>;
      return {
        leader: String(s['leader'] ?? ''),
        self: String(header['member_id'] ?? ''),
        raftIndex: Number(s['raftIndex'] ?? 0),
        appliedIndex: Number(s['raftAppliedIndex'] ?? 0),
      };
    } catch {
      return null;
    }
  }

  /** Waits until every running member names the same leader, and returns that member. */
  private async leader(timeoutMs = 30000): Promise<Member> {
    let leader: Member | null = null;
    await waitFor(
      async () => {
        const running = this.members.filter((m) => m.proc !== null);
        const sts = await Promise.all(running.map((m) => this.status(m)));
        const seen = new Set(sts.map((s) => s?.leader ?? ''));
        const id = [...seen][0] ?? '';
        const i = sts.findIndex((s) => s !== null && s.self === id);
        leader = i >= 0 ? running[i]! : null;
        return seen.size === 1 && id !== '' && id !== '0' && leader !== null;
      },
      'etcd members to agree on a leader',
      timeoutMs,
    );
    return leader!;
  }

  pids(): number[] {
    return this.members.map((m) => m.proc?.pid).filter((p): p is number => p !== undefined);
  }

  /** The PID of the current leader (for CPU split by role). */
  async leaderPid(): Promise<number | null> {
    return (await this.leader()).proc?.pid ?? null;
  }

  rssMB(): number[] {
    return this.pids().map((p) => rssMB(p) ?? 0);
  }

  async target(): Promise<KvTarget> {
    const port = (await this.leader()).clientPort;
    if (this.api === 'grpc') return { client: () => grpcClient(port), pids: () => this.pids() };
    return {
      client: (): KvClient => {
        // One connection per client, as the load's clients are independent.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        return {
          put: async (key, value) => {
            await post(agent, port, '/v3/kv/put', { key: b64(key), value: b64(value) }, 5000);
          },
          get: async (key) => {
            await post(agent, port, '/v3/kv/range', { key: b64(key) }, 5000);
          },
          close: () => agent.destroy(),
        };
      },
      pids: () => this.pids(),
    };
  }

  /** Each member's client port, in member order (also for the stopped ones). */
  clientPorts(): number[] {
    return this.members.map((m) => m.clientPort);
  }

  memberAlive(i: number): boolean {
    return this.members[i]?.proc != null;
  }

  async leaderIndex(): Promise<number> {
    return this.members.indexOf(await this.leader());
  }

  /** A put through the leader; resolves with its revision. */
  async put(key: string, value: string): Promise<number> {
    const leader = await this.leader();
    const res = await post(this.admin, leader.clientPort, '/v3/kv/put', { key: b64(key), value: b64(value) }, 5000);
    return Number(((res['header'] ?? {}) as Record<string, unknown>)['revision'] ?? 0);
  }

  /** SIGKILL of member i; resolves when it has exited. */
  async killMember(i: number): Promise<void> {
    const proc = this.members[i]?.proc;
    if (!proc) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Restarts member i and waits until it has caught up. */
  async restartMember(i: number): Promise<void> {
    const m = this.members[i]!;
    this.startMember(m, 'existing');
    await this.caughtUp(m);
  }

  async failover(): Promise<FailoverSample> {
    const leader = await this.leader();
    const survivors = this.members.filter((m) => m !== leader && m.proc !== null);
    const agent = new http.Agent({ keepAlive: true });
    // Connected before the kill, so the measurement does not include dialling.
    await Promise.all(survivors.map((m) => post(agent, m.clientPort, '/v3/maintenance/status', {}, 1000)));
    const t0 = performance.now();
    const proc = leader.proc!;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
    const t1 = await firstSuccess(
      (k) => post(agent, survivors[k % survivors.length]!.clientPort, '/v3/kv/put', { key: b64('bench/failover'), value: b64(VALUE) }, 1000).then(() => undefined),
      20,
      30000,
    );
    agent.destroy();
    const newLeader = await this.leader();
    this.startMember(leader, 'existing');
    await this.caughtUp(leader);
    return { ms: t1 - t0, oldLeader: leader.name, newLeader: newLeader.name };
  }

  private async caughtUp(m: Member): Promise<void> {
    const leader = await this.leader(60000);
    const target = (await this.status(leader))?.raftIndex ?? 0;
    await waitFor(
      async () => {
        const st = await this.status(m);
        return st !== null && st.leader !== '0' && st.leader !== '' && st.appliedIndex >= target;
      },
      `etcd member ${m.name} to rejoin and catch up`,
      60000,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const proc = m.proc;
        if (!proc) return;
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
    this.admin.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
