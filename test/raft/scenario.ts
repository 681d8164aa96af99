/**
 * Raft scenarios as text (etcd-io/raft's datadriven interaction tests): a file of commands on
 * the Script DSL (test/sim/script.ts), each followed by `----` and the trace it must produce.
 * Every node runs the production RaftHost; the simulation's safety checks run after every step.
 *
 *   # a comment
 *   create c1 c2
 *   ----
 *   ok
 *
 * A block ends at a blank line. What a command prints is every event while it runs (messages
 * sent, received, dropped; role changes; entries and membership changes applied; reads
 * served), or `ok` when nothing happened. Commands:
 *
 *   create ID...                    a bootstrapped cluster of these voters, all started
 *   add-node ID                     a new empty node, started (to be added as a learner)
 *   trace on|off                    print events (default on); off for boilerplate
 *   campaign ID                     the node campaigns (pre-vote first); nothing delivered
 *   elect ID                        campaigns and delivers everything; ID must win
 *   propose ID KEY=VALUE            a client write on ID
 *   propose-conf ID add-learner|promote|remove NODE
 *   read ID CONTEXT                 a linearizable read on ID
 *   transfer ID TO                  leadership transfer from leader ID to TO
 *   tick ID... [times=N]            the nodes' timers fire N times (default 1)
 *   deliver [FILTER...]             delivers the queued messages matching (all if none), once
 *   drop [FILTER...]                loses the queued messages matching (all if none)
 *   stabilize [drop=(FILTER,...)]   delivers until nothing is queued, losing those matching
 *   run-until-leader ID... [max=N]  ticks the nodes and delivers until one of them leads
 *   crash ID [keep-unsynced]        kills the node; its writes not yet durable are lost
 *   start ID                        restarts it from its disk
 *   hold-writes ID / release-writes ID   its disk writes do not complete until released
 *   isolate ID / cut A B / heal     partitions (queued messages across them are lost on delivery)
 *   status [ID...]                  each node's role, term, leader, indexes and configuration
 *
 * A FILTER is FROM->TO, with either side optional, and :TYPE optional: c1->c2, ->c3,
 * c1->:Append.
 */
import { HostError } from '../../src/api/consensus-port.js';
import { RaftError, type ConfEntry, type Message, type NodeId } from '../../src/raft/index.js';
import { confText } from '../sim/node-checks.js';
import { Script } from '../sim/script.js';
import { describeMessage } from '../sim/trace.js';

export interface Block {
  /** 1-based line of the command, for error messages. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

/** A scenario file: comments and blank lines kept verbatim, and the command blocks. */
export type Segment = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'block'; readonly block: Block };

export function parseScenario(source: string, file: string): Segment[] {
  const lines = source.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: Segment[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      out.push({ kind: 'text', text: line });
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`${file}:${i + 1}: expected "----" after the command "${line}"`);
    const expected: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j]!.trim() !== '') expected.push(lines[j++]!);
    out.push({ kind: 'block', block: { line: i + 1, command: line, expected } });
    i = j;
  }
  return out;
}

/** The file with every block's expected output replaced by `actual` (the --rewrite mode). */
export function renderScenario(segments: readonly Segment[], actual: ReadonlyMap<Block, readonly string[]>): string {
  const out: string[] = [];
  for (const s of segments) {
    if (s.kind === 'text') out.push(s.text);
    else out.push(s.block.command, '----', ...(actual.get(s.block) ?? s.block.expected));
  }
  return `${out.join('\n')}\n`;
}

type Filter = (m: Message) => boolean;

function parseFilter(spec: string): Filter {
  const m = /^([\w-]*)->([\w-]*)(?::(\w+))?$/.exec(spec);
  if (!m) throw new Error(`expected a message filter FROM->TO[:TYPE], found "${spec}"`);
  const [, from, to, type] = m;
  return (msg) => (from === '' || msg.from === from) && (to === '' || msg.to === to) && (type === undefined || msg.type === type);
}

function anyOf(filters: readonly Filter[]): Filter {
  return (m) => filters.some((f) => f(m));
}

/** Runs the blocks of one file in order against one Script; returns each block's output. */
export class ScenarioRunner {
  private script: Script | null = null;
  private tracing = true;
  private events: string[] = [];

  /** Runs one command; a node's refusal is printed, any other error (a safety check) is thrown. */
  run(block: Block): string[] {
    this.events = [];
    const words = block.command.trim().split(/\s+/);
    const [cmd, ...args] = words;
    try {
      this.execute(cmd!, args);
    } catch (err) {
      if (!(err instanceof RaftError) && !(err instanceof HostError)) throw err;
      this.events.push(`refused ${err.code}: ${err.message}`);
    }
    return this.events.length > 0 ? this.events : ['ok'];
  }

  private get s(): Script {
    if (this.script === null) throw new Error('no cluster yet: the first command must be "create"');
    return this.script;
  }

  private print(line: string): void {
    if (this.tracing) this.events.push(line);
  }

  private execute(cmd: string, args: readonly string[]): void {
    switch (cmd) {
      case 'create': {
        const s = Script.create(args);
        s.onEvent = (l) => this.print(l);
        this.script = s;
        return;
      }
      case 'add-node':
        this.s.addNode(one(args, 'add-node ID'));
        return;
      case 'trace':
        this.tracing = one(args, 'trace on|off') === 'on';
        return;
      case 'campaign':
        this.s.act(one(args, 'campaign ID'), (h) => h.campaign());
        return;
      case 'elect':
        this.s.elect(one(args, 'elect ID'));
        return;
      case 'propose': {
        const [id, kv] = two(args, 'propose ID KEY=VALUE');
        const at = this.s.propose(id, kv);
        this.print(`${id} proposed ${kv} at ${at.index}/${at.term}`);
        return;
      }
      case 'propose-conf': {
        if (args.length !== 3) throw new Error('usage: propose-conf ID add-learner|promote|remove NODE');
        const [id, type, node] = args as [string, string, string];
        if (type !== 'add-learner' && type !== 'promote' && type !== 'remove') throw new Error(`unknown change "${type}"`);
        const change: ConfEntry = { type, node, context: '' };
        const at = this.s.act(id, (h) => h.proposeConfChange(change));
        this.print(`${id} proposed ${type} ${node} at ${at.index}/${at.term}`);
        return;
      }
      case 'read': {
        const [id, context] = two(args, 'read ID CONTEXT');
        this.s.act(id, (h) => h.readIndex(context));
        return;
      }
      case 'transfer': {
        const [id, to] = two(args, 'transfer ID TO');
        this.s.act(id, (h) => h.transferLeadership(to));
        return;
      }
      case 'tick': {
        const times = Number(option(args, 'times') ?? 1);
        for (const id of plain(args)) this.s.tick(id, times);
        return;
      }
      case 'deliver': {
        const match = args.length === 0 ? () => true : anyOf(args.map(parseFilter));
        for (const m of this.s.take(match)) {
          if (this.s.connected(m.from, m.to)) this.s.deliver(m);
          else this.print(`drop ${describeMessage(m)}`);
        }
        return;
      }
      case 'drop': {
        const match = args.length === 0 ? () => true : anyOf(args.map(parseFilter));
        for (const m of this.s.take(match)) this.print(`drop ${describeMessage(m)}`);
        return;
      }
      case 'stabilize': {
        const spec = option(args, 'drop');
        const drop = spec === undefined ? () => false : anyOf(spec.replace(/^\(|\)$/g, '').split(',').map(parseFilter));
        this.s.stabilize(drop);
        return;
      }
      case 'run-until-leader': {
        const ids = plain(args);
        const max = Number(option(args, 'max') ?? 500);
        this.s.runUntil(() => this.s.leaders().some((id) => ids.includes(id)), ids, max);
        return;
      }
      case 'crash': {
        const id = args[0];
        if (id === undefined) throw new Error('usage: crash ID [keep-unsynced]');
        this.s.crash(id, !args.includes('keep-unsynced'));
        return;
      }
      case 'start':
        this.s.start(one(args, 'start ID'));
        this.print(`${args[0]} started: ${statusLine(this.s, args[0]!)}`);
        return;
      case 'hold-writes':
        this.s.holdWrites(one(args, 'hold-writes ID'), true);
        return;
      case 'release-writes':
        this.s.holdWrites(one(args, 'release-writes ID'), false);
        return;
      case 'isolate':
        this.s.isolate(one(args, 'isolate ID'));
        return;
      case 'cut': {
        const [a, b] = two(args, 'cut A B');
        this.s.cut(a, b);
        return;
      }
      case 'heal':
        this.s.heal();
        return;
      case 'status': {
        const ids = args.length > 0 ? args : [...this.s.nodes.keys()];
        for (const id of ids) this.events.push(statusLine(this.s, id));
        return;
      }
      default:
        throw new Error(`unknown command "${cmd}"`);
    }
  }
}

function statusLine(s: Script, id: NodeId): string {
  const n = s.get(id);
  if (!n.up) return `${id}: down`;
  const st = n.status();
  return (
    `${id}: ${st.role} term=${st.term} leader=${st.leader ?? '-'} vote=${st.vote ?? '-'} ` +
    `commit=${st.commit} applied=${st.applied} last=${st.lastIndex} ${confText(st.conf)}`
  );
}

function one(args: readonly string[], usage: string): string {
  if (args.length !== 1) throw new Error(`usage: ${usage}`);
  return args[0]!;
}

function two(args: readonly string[], usage: string): [string, string] {
  if (args.length !== 2) throw new Error(`usage: ${usage}`);
  return [args[0]!, args[1]!];
}

function option(args: readonly string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`${name}=`));
  return a?.slice(name.length + 1);
}

function plain(args: readonly string[]): string[] {
  return args.filter((a) => !a.includes('='));
}
