/**
 * What happened in a simulation run, kept as a bounded ring of events so a failure can show the
 * last steps before it without paying for a full log on the hundreds of seeds that pass.
 * Events hold the message object itself and are formatted only when someone reads them.
 */
import type { Message } from '../../src/raft/index.js';

type Event =
  | { readonly atMs: number; readonly text: string }
  | { readonly atMs: number; readonly verb: string; readonly msg: Message };

export class Trace {
  private readonly ring: Array<Event | undefined>;
  private head = 0;
  private count = 0;

  /** `keep` events are remembered (Infinity: all of them); `echo` prints each as it happens. */
  constructor(
    readonly keep: number,
    private readonly echo: ((line: string) => void) | null = null,
  ) {
    this.ring = Number.isFinite(keep) ? new Array<Event | undefined>(keep) : [];
  }

  note(atMs: number, text: string): void {
    this.push({ atMs, text });
  }

  message(atMs: number, verb: string, msg: Message): void {
    this.push({ atMs, verb, msg });
  }

  /** The remembered events, oldest first, formatted. */
  lines(): string[] {
    const out: string[] = [];
    if (!Number.isFinite(this.keep)) {
      for (const e of this.ring) if (e) out.push(format(e));
      return out;
    }
    const n = Math.min(this.count, this.keep);
    for (let k = 0; k < n; k++) {
      const e = this.ring[(this.head - n + k + this.keep) % this.keep];
      if (e) out.push(format(e));
    }
    return out;
  }

  /** How many events were recorded in total, remembered or not. */
  size(): number {
    return this.count;
  }

  private push(e: Event): void {
    this.count++;
    if (this.echo) this.echo(format(e));
    if (!Number.isFinite(this.keep)) {
      this.ring.push(e);
      return;
    }
    this.ring[this.head] = e;
    this.head = (this.head + 1) % this.keep;
  }
}

function format(e: Event): string {
  const at = `t=${e.atMs.toFixed(2).padStart(9)}`;
  return 'text' in e ? `${at} ${e.text}` : `${at} ${e.verb} ${describeMessage(e.msg)}`;
}

/** One line per message, with the fields that matter for reading a Raft trace. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'PreVote':
    case 'Vote':
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.type === 'Vote' && m.transfer ? ' transfer' : ''}`;
    case 'PreVoteResp':
    case 'VoteResp':
      return `${head}${m.reject ? ' REJECT' : ' granted'}`;
    case 'Append': {
      const span = m.entries.length === 0 ? '' : ` ents=${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}`;
      return `${head} prev=${m.prevIndex}/${m.prevTerm}${span} commit=${m.commit}${m.commitOnly ? ' notice' : ''}`;
    }
    case 'AppendResp':
      return m.reject
        ? `${head} REJECT index=${m.index} hint=${m.rejectHint}/${m.hintTerm}`
        : `${head} index=${m.index}`;
    case 'Heartbeat':
      return `${head} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ''}`;
    case 'HeartbeatResp':
      return `${head}${m.context ? ` ctx=${m.context}` : ''}`;
    case 'InstallSnapshot':
      return `${head} snap=${m.snapshot.meta.index}/${m.snapshot.meta.term} voters=${m.snapshot.meta.conf.voters.join(',')}`;
    case 'TimeoutNow':
      return head;
    case 'ReadIndex':
      return `${head} ctx=${m.context}`;
    case 'ReadIndexResp':
      return `${head} ctx=${m.context} index=${m.index}${m.reject ? ' REJECT' : ''}`;
  }
}
