/**
 * A client for exactly one node, for the harness's own observations (status samples, "is it
 * up yet?"). Unlike the library client it has its own subchannel and a short reconnect
 * backoff: grpc-js shares subchannels between clients of one process, and after a refused
 * connection (a node being restarted) the shared one waits 1 s, then 1.6 s, ... before it
 * dials again. A probe that inherited that backoff would see a restarted node seconds late
 * and blame the node for it.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeControllersView, decodeStatus, type StatusJson } from '../src/api/answers.js';
import type { ControllersView } from '../src/api/controller-rows.js';
import { controllerServiceDefinition } from '../src/api/controller-proto.js';

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 250,
};

export class NodeProbe {
  private readonly client: grpc.Client;

  constructor(
    readonly endpoint: string,
    private readonly timeoutMs: number,
  ) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  private call(method: 'ListControllers' | 'Status'): Promise<unknown> {
    const def = controllerServiceDefinition().service[method];
    if (def === undefined) throw new Error(`controller.api.Controller has no method ${method}`);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        {},
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
  }

  async listControllers(): Promise<ControllersView> {
    return decodeControllersView(await this.call('ListControllers'));
  }

  async status(): Promise<StatusJson> {
    return decodeStatus(await this.call('Status'));
  }

  close(): void {
    this.client.close();
  }
}
