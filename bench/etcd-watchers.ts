/**
 * etcd watchers for the fan-out benchmark: each a gRPC Watch stream (bench/etcd.proto)
 * on one member, 200 streams per channel (each its own connection) as our agents have, resuming on the next member from
 * the revision after the last one seen when its stream fails (as etcd clients do). Their
 * channels have our agents' options (no channelz, no retry layer), so the two fleets differ in
 * what they do per message, not in how their transport is tuned.
 */
import * as grpc from '@grpc/grpc-js';
import { SWARM_CHANNEL_OPTIONS } from '../src/agent/swarm.js';
import { etcdService } from './etcd-proto.js';

interface WatchResponse {
  readonly created: boolean;
  readonly events: readonly { readonly kv: { readonly modRevision: number; readonly value: Buffer } }[];
}

type WatchCall = grpc.ClientDuplexStream<object, WatchResponse>;

export class Watchers {
  readonly lastRevision: number[] = [];
  readonly receivedAt: number[] = [];
  readonly member: number[] = [];
  readonly created: boolean[] = [];
  duplicates = 0;
  duplicateBytes = 0;
  private readonly clients: grpc.Client[][];
  private readonly calls: (WatchCall | null)[] = [];
  private stopped = false;

  constructor(
    private readonly addresses: readonly string[],
    private readonly key: string,
  ) {
    this.clients = addresses.map(() => []);
  }

  get count(): number {
    return this.lastRevision.length;
  }

  /** `count` more watchers from `startRevision`, spread over the members by index. */
  add(count: number, startRevision: number, offset: number): void {
    for (let k = 0; k < count; k++) {
      const i = this.lastRevision.length;
      this.lastRevision.push(0);
      this.receivedAt.push(0);
      this.member.push((offset + k) % this.addresses.length);
      this.created.push(false);
      this.calls.push(null);
      this.watch(i, startRevision);
    }
  }

  private client(m: number, i: number): grpc.Client {
    const list = this.clients[m]!;
    const slot = Math.floor(i / 200);
    const Ctor = etcdService('Watch');
    while (list.length <= slot) list.push(new Ctor(this.addresses[m]!, grpc.credentials.createInsecure(), SWARM_CHANNEL_OPTIONS));
    return list[slot]!;
  }

  private watch(i: number, startRevision: number): void {
    if (this.stopped) return;
    const m = this.member[i]!;
    const call = (this.client(m, i) as unknown as { Watch: () => WatchCall }).Watch();
    this.calls[i] = call;
    this.created[i] = false;
    call.on('data', (r: WatchResponse) => {
      if (r.created) this.created[i] = true;
      for (const e of r.events) {
        const rev = e.kv.modRevision;
        if (rev <= this.lastRevision[i]!) {
          this.duplicates++;
          this.duplicateBytes += e.kv.value.length;
          continue;
        }
        this.lastRevision[i] = rev;
        this.receivedAt[i] = performance.now();
      }
    });
    const again = (): void => {
      if (this.calls[i] !== call || this.stopped) return;
      this.calls[i] = null;
      this.created[i] = false;
      this.member[i] = (m + 1) % this.addresses.length;
      // A dead member fails the next attempt at once; pause a little before each retry.
      setTimeout(() => this.watch(i, this.lastRevision[i]! + 1), 20);
    };
    call.on('error', again);
    call.on('end', again);
    call.write({ createRequest: { key: Buffer.from(this.key), startRevision } });
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.calls) c?.cancel();
    for (const list of this.clients) for (const c of list) c.close();
  }
}
