/**
 * etcd watchers for the fan-out benchmark: each a gRPC Watch stream (bench/etcd.proto)
 * on one member, 200 streams per connection as our agents have, resuming on the next member
 * from the revision after the last one seen when its stream fails (as etcd clients do). Their
 * client is grpc-js (what a Node.js etcd client is built on; channels without channelz or the
 * retry layer), or with `h2` the small client our agents use (src/transport/h2-stream), so
 * the two fleets can also be compared on one transport.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdService } from './etcd-proto.js';
import { BidiCall, H2Connection, INSECURE } from '../src/transport/h2-stream/index.js';

interface WatchResponse {
  readonly created: boolean;
  readonly events: readonly { readonly kv: { readonly modRevision: number; readonly value: Buffer } }[];
}

type WatchRequest = { readonly createRequest: { readonly key: Buffer; readonly startRevision: number } };
type WatchCall = grpc.ClientDuplexStream<WatchRequest, WatchResponse> | BidiCall<WatchRequest, WatchResponse>;

export type WatchClient = 'grpc-js' | 'h2';
export function isWatchClient(s: string): s is WatchClient {
  return s === 'grpc-js' || s === 'h2';
}

/** The largest WatchResponse taken: grpc-js's default receive limit. */
const MAX_WATCH_RESPONSE_BYTES = 4 * 1024 * 1024;

/** No channelz, no retry layer, and each channel a connection of its own (grpc-js otherwise shares one among the channels of a target). */
const WATCH_CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.enable_channelz': 0, 'grpc.enable_retries': 0, 'grpc.use_local_subchannel_pool': 1 };

export class Watchers {
  readonly lastRevision: number[] = [];
  readonly receivedAt: number[] = [];
  readonly member: number[] = [];
  readonly created: boolean[] = [];
  duplicates = 0;
  duplicateBytes = 0;
  /** Per member, the connections of each 200 watchers (grpc-js channels or our own). */
  private readonly clients: (grpc.Client | H2Connection)[][];
  private readonly calls: (WatchCall | null)[] = [];
  private stopped = false;

  constructor(
    private readonly addresses: readonly string[],
    private readonly key: string,
    private readonly via: WatchClient,
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

  private open(m: number, i: number): WatchCall {
    const list = this.clients[m]!;
    const slot = Math.floor(i / 200);
    const Ctor = etcdService('Watch');
    const address = this.addresses[m]!;
    while (list.length <= slot) list.push(this.via === 'h2' ? new H2Connection(address, INSECURE, MAX_WATCH_RESPONSE_BYTES) : new Ctor(address, grpc.credentials.createInsecure(), WATCH_CHANNEL_OPTIONS));
    const client = list[slot]!;
    if (!(client instanceof H2Connection)) return (client as unknown as { Watch: () => grpc.ClientDuplexStream<WatchRequest, WatchResponse> }).Watch();
    const method = Ctor.service['Watch']!;
    return client.open(method.path, { encode: method.requestSerialize as (r: WatchRequest) => Buffer, decode: method.responseDeserialize as (b: Buffer) => WatchResponse });
  }

  private watch(i: number, startRevision: number): void {
    if (this.stopped) return;
    const m = this.member[i]!;
    const call = this.open(m, i);
    this.calls[i] = call;
    this.created[i] = false;
    const onData = (r: WatchResponse): void => {
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
    };
    const again = (): void => {
      if (this.calls[i] !== call || this.stopped) return;
      this.calls[i] = null;
      this.created[i] = false;
      this.member[i] = (m + 1) % this.addresses.length;
      // A dead member fails the next attempt at once; pause a little before each retry.
      setTimeout(() => this.watch(i, this.lastRevision[i]! + 1), 20);
    };
    if (call instanceof BidiCall) call.on('data', onData).on('error', again).on('end', again);
    else call.on('data', onData).on('error', again).on('end', again);
    call.write({ createRequest: { key: Buffer.from(this.key), startRevision } });
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.calls) c?.cancel();
    for (const list of this.clients) for (const c of list) c.close();
  }
}
