/** Test nodes: a PeerTransport on its own gRPC server bound to 127.0.0.1 port 0. */
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../../src/raft/messages.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { insecureCredentials, type PeerCredentials } from '../../src/transport/credentials.js';
import { PeerTransport, peerServerOptions, type PeerTransportOptions } from '../../src/transport/peer-transport.js';
import { raftPeerMethod, raftPeerService } from '../../src/transport/wire.js';

export interface TestNode {
  readonly id: string;
  readonly address: string;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly unreachable: string[];
  readonly snapshotStatus: { peer: string; ok: boolean }[];
  readonly warnings: { obj: object; msg: string }[];
  /** What the transport logged at info level. */
  readonly notes: { obj: object; msg: string }[];
  readonly heartbeatsFrom: string[];
  /** Stops the server (abruptly, like a crash) and closes the transport. */
  stop(): void;
}

export interface NodeSetup {
  readonly id: string;
  readonly cluster?: string;
  readonly known?: (id: string) => boolean;
  readonly maxMessageBytes?: number;
  readonly credentials?: PeerCredentials;
  readonly options?: Partial<PeerTransportOptions>;
  /** The port to listen on (default: any free one). */
  readonly port?: number;
  /**
   * The server's first interceptor as a controller's (base-call-guard.ts; default true): with it,
   * StepStream batches are read and acked straight on the HTTP/2 stream (direct-messages.ts);
   * without it, through grpc-js.
   */
  readonly guard?: boolean;
}

export function bind(server: grpc.Server, creds: grpc.ServerCredentials, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** A RaftPeer server with only the given handlers (the rest answer UNIMPLEMENTED), as an
 * older or misbehaving peer would be; resolves with its address and a stop function. */
export async function partialPeer(impl: grpc.UntypedServiceImplementation): Promise<{ address: string; stop: () => void }> {
  const server = new grpc.Server();
  server.addService(raftPeerService().service, impl);
  const port = await bind(server, grpc.ServerCredentials.createInsecure());
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

export async function startNode(setup: NodeSetup): Promise<TestNode> {
  const maxMessageBytes = setup.maxMessageBytes ?? 4 * 1024 * 1024;
  const credentials = setup.credentials ?? insecureCredentials();
  const received: Message[] = [];
  const unreachable: string[] = [];
  const snapshotStatus: { peer: string; ok: boolean }[] = [];
  const warnings: { obj: object; msg: string }[] = [];
  const notes: { obj: object; msg: string }[] = [];
  const heartbeatsFrom: string[] = [];
  const transport = new PeerTransport({
    self: setup.id,
    clusterName: setup.cluster ?? 'test',
    maxMessageBytes,
    credentials,
    isKnownPeer: setup.known ?? ((id) => /^n\d+$/.test(id)),
    onMessage: (m) => received.push(m),
    onUnreachable: (peer) => unreachable.push(peer),
    onSnapshotStatus: (peer, ok) => snapshotStatus.push({ peer, ok }),
    onHeartbeat: (from, payload) => {
      heartbeatsFrom.push(from);
      return payload;
    },
    logger: { warn: (obj, msg) => warnings.push({ obj, msg }), info: (obj, msg) => notes.push({ obj, msg }) },
    ...setup.options,
  });
  const guard = baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined });
  const server = new grpc.Server({ ...peerServerOptions(maxMessageBytes), ...(setup.guard === false ? {} : { interceptors: [guard] }) });
  transport.register(server);
  const port = await bind(server, credentials.server, setup.port);
  return {
    id: setup.id,
    address: `127.0.0.1:${port}`,
    transport,
    received,
    unreachable,
    snapshotStatus,
    warnings,
    notes,
    heartbeatsFrom,
    stop: () => {
      server.forceShutdown();
      transport.close();
    },
  };
}

/** Calls a RaftPeer unary method with a hand-built request; resolves to the error, or null. */
export function rawUnary(
  address: string,
  method: 'Step' | 'Heartbeat',
  request: unknown,
  maxSendBytes = 64 * 1024 * 1024,
): Promise<grpc.ServiceError | null> {
  const Service = raftPeerService();
  const client = new Service(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': maxSendBytes });
  const def = raftPeerMethod(method);
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 10000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}
