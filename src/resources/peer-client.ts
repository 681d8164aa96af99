/**
 * The client half of controller.peer.MemberResources: asks a member at its address, with a
 * deadline, a small answer limit, and the framing check and validation every answer from
 * outside gets. One channel per address, kept for the next request.
 */
import * as grpc from '@grpc/grpc-js';
import { ChannelCache } from '../transport/channel-cache.js';
import type { WireIdentity } from '../transport/wire.js';
import { tidyDetails } from '../api/errors.js';
import { assertWellFramed } from '../transport/strict-decode.js';
import { ResourcesError } from './errors.js';
import type { MachineReading, ResourceMember } from './types.js';
import { describeMethod, diskFromWire, fromWire, MAX_ANSWER_BYTES, type DiskReading, type ResourcesQueryMsg } from './wire.js';

export interface ResourcesPeerClientOptions {
  readonly self: string;
  readonly clusterName: string;
  readonly credentials: grpc.ChannelCredentials;
  /** The identity envelope this node stamps on what it sends to `to` (src/identity). */
  readonly envelope: (to: string) => WireIdentity;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_ANSWER_BYTES,
  'grpc.enable_channelz': 0,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

export class ResourcesPeerClient {
  private readonly channels: ChannelCache<grpc.Client>;
  private closed = false;

  constructor(private readonly opts: ResourcesPeerClientOptions) {
    this.channels = new ChannelCache(opts.credentials, (address, observed) => new grpc.Client(address, observed, CHANNEL_OPTIONS));
  }

  /** A member is asked by its id and address (its incarnation is the envelope's business). */
  describe(member: Pick<ResourceMember, 'id' | 'address'>, includeStatic: boolean, deadlineMs: number): Promise<MachineReading> {
    return this.ask(member, includeStatic, deadlineMs, (value) => fromWire(value, member.id, includeStatic));
  }

  /** The member's free disk and its own floor, as the leader judges writes by them (src/api/disk-floor.ts). */
  describeDisk(member: Pick<ResourceMember, 'id' | 'address'>, deadlineMs: number): Promise<DiskReading> {
    return this.ask(member, false, deadlineMs, (value) => diskFromWire(value, member.id));
  }

  private ask<T>(member: Pick<ResourceMember, 'id' | 'address'>, includeStatic: boolean, deadlineMs: number, decode: (value: unknown) => T): Promise<T> {
    if (this.closed) return Promise.reject(new ResourcesError('UNREACHABLE', 'the resources client is closed'));
    const method = describeMethod();
    const request: ResourcesQueryMsg = { cluster: this.opts.clusterName, from: this.opts.self, to: member.id, includeStatic, ...this.opts.envelope(member.id) };
    const where = `${member.id} at ${member.address}`;
    return new Promise((resolve, reject) => {
      this.channel(member.address).makeUnaryRequest(
        method.path,
        method.requestSerialize,
        (bytes: Buffer) => {
          assertWellFramed(bytes);
          return method.responseDeserialize(bytes);
        },
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, value) => {
          if (err) {
            const code = err.code === grpc.status.DEADLINE_EXCEEDED ? `no answer within ${deadlineMs}ms` : `${grpc.status[err.code] ?? err.code}: ${tidyDetails(err.details)}`;
            reject(new ResourcesError(err.code === grpc.status.INTERNAL ? 'INVALID_ANSWER' : 'UNREACHABLE', `${where}: ${code}`));
            return;
          }
          try {
            resolve(decode(value));
          } catch (e) {
            reject(e instanceof ResourcesError ? new ResourcesError('INVALID_ANSWER', `${where}: ${e.message}`) : e);
          }
        },
      );
    });
  }

  /** Closes the channels of addresses no member has any more. */
  retainOnly(addresses: ReadonlySet<string>): void {
    this.channels.retainOnly(addresses);
  }

  close(): void {
    this.closed = true;
    this.channels.close();
  }

  private channel(address: string): grpc.Client {
    return this.channels.get(address);
  }
}
