/**
 * A real network for the chaos checks: one Linux network namespace per process, each with a
 * veth pair whose host end sits on one bridge, and nftables rules in each namespace that drop
 * (black hole: no RST, no ICMP) what arrives from the hosts it must not hear.
 *
 * A directed cut A -> B is a drop rule in B's namespace for packets from A's address, at the
 * input hook: A's stack sends as usual and the packets vanish on the wire, so A's kernel
 * retransmits, its SYNs go unanswered and keepalives time out, as behind a dead switch port.
 * The bridge's own address (the harness's samplers) is never dropped, as the chaos harness's
 * clients are never faulted.
 *
 * With `action: 'reject'` a cut is refused instead, at the sender's output hook: TCP gets a RST at
 * once (ECONNREFUSED, ECONNRESET), anything else an ICMP error, as from a firewall that rejects.
 *
 * Needs root, `ip` (iproute2) and `nft` (nftables). Everything it creates carries its prefix,
 * and destroy() removes it all; `cleanup(prefix)` removes leftovers of a run that died.
 */
import { execFileSync } from 'node:child_process';

export interface LabHost {
  readonly name: string;
  readonly ip: string;
  readonly netns: string;
}

const TABLE = 'netnslab';

function run(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

/** Names and links of this prefix that exist now (namespaces, interfaces). */
function existing(prefix: string): { netns: string[]; links: string[] } {
  const netns = run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  const links = run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  return { netns, links };
}

/** Removes every namespace and interface whose name starts with `prefix`. */
export function cleanup(prefix: string): void {
  for (const n of existing(prefix).netns) run('ip', ['netns', 'del', n]);
  // Deleting a namespace deletes its veth ends (and so their peers); what is left is the bridge.
  for (const l of existing(prefix).links) {
    try {
      run('ip', ['link', 'del', l]);
    } catch (err) {
      // A veth end goes with its namespace's end a moment after the namespace: already gone.
      if (!/Cannot find device/.test((err as Error).message)) throw err;
    }
  }
}

export type CutAction = 'drop' | 'reject';

export class NetnsLab {
  readonly hosts = new Map<string, LabHost>();
  private readonly bridge: string;
  /** Per host: the addresses it must not hear (drop: into it) or not send to (reject: out of it). */
  private readonly filtered = new Map<string, ReadonlySet<string>>();

  /**
   * @param prefix names every namespace and interface (at most 6 characters: interface names
   *   hold 15)
   * @param subnet the first three octets of a /24 used only inside these namespaces
   */
  constructor(
    readonly prefix: string,
    readonly subnet: string,
    readonly action: CutAction = 'drop',
  ) {
    if (prefix.length > 6) throw new Error(`lab prefix "${prefix}" is longer than 6 characters: interface names would exceed 15`);
    this.bridge = `${prefix}-br`;
  }

  get bridgeIp(): string {
    return `${this.subnet}.254`;
  }

  create(names: readonly string[]): void {
    const left = existing(this.prefix);
    if (left.netns.length + left.links.length > 0) throw new Error(`leftovers of an earlier run with prefix ${this.prefix}: ${[...left.netns, ...left.links].join(', ')} (run with --cleanup)`);
    run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${this.bridgeIp}/24`, 'dev', this.bridge]);
    run('ip', ['link', 'set', this.bridge, 'up']);
    names.forEach((name, i) => {
      const netns = `${this.prefix}-${name}`;
      const ip = `${this.subnet}.${i + 1}`;
      const hostEnd = `${this.prefix}${name}h`;
      const nsEnd = `${this.prefix}${name}n`;
      run('ip', ['netns', 'add', netns]);
      run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
      run('ip', ['link', 'set', nsEnd, 'netns', netns]);
      run('ip', ['link', 'set', hostEnd, 'master', this.bridge, 'up']);
      run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', nsEnd]);
      run('ip', ['-n', netns, 'link', 'set', nsEnd, 'up']);
      run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      this.hosts.set(name, { name, ip, netns });
      this.filtered.set(name, new Set());
      this.applyRules(name);
    });
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Makes the directed cuts exactly `cuts` (from -> to pairs of host names), in one nft transaction per namespace that changes. */
  setCuts(cuts: Iterable<readonly [string, string]>): void {
    const want = new Map<string, Set<string>>([...this.hosts.keys()].map((n) => [n, new Set<string>()]));
    for (const [from, to] of cuts) {
      if (this.action === 'drop') want.get(to)?.add(this.host(from).ip);
      else want.get(from)?.add(this.host(to).ip);
    }
    for (const [name, ips] of want) {
      const had = this.filtered.get(name) ?? new Set();
      if (had.size === ips.size && [...ips].every((ip) => had.has(ip))) continue;
      this.filtered.set(name, ips);
      this.applyRules(name);
    }
  }

  private applyRules(name: string): void {
    const h = this.host(name);
    const ips = [...(this.filtered.get(name) ?? [])];
    const rules =
      this.action === 'drop'
        ? ips.map((ip) => `add rule inet ${TABLE} input ip saddr ${ip} drop\n`).join('')
        : ips.map((ip) => `add rule inet ${TABLE} output ip daddr ${ip} meta l4proto tcp reject with tcp reset\nadd rule inet ${TABLE} output ip daddr ${ip} reject\n`).join('');
    // Re-created whole in one transaction: the namespace never sees half a rule set.
    const script = `table inet ${TABLE}\ndelete table inet ${TABLE}\nadd table inet ${TABLE}\nadd chain inet ${TABLE} input { type filter hook input priority 0; policy accept; }\nadd chain inet ${TABLE} output { type filter hook output priority 0; policy accept; }\n${rules}`;
    run('ip', ['netns', 'exec', h.netns, 'nft', '-f', '-'], script);
  }

  /** The command line that runs `argv` inside a host's namespace (ip netns exec execs it: same PID). */
  exec(name: string, argv: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.host(name).netns, ...argv] };
  }

  destroy(): void {
    cleanup(this.prefix);
  }
}
