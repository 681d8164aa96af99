/**
 * The controller's gRPC port: a GuardedListener (src/transport/guarded-listener.ts) whose caps
 * and refused handshakes reach the node's metrics and, rate-limited, its log.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type client from 'prom-client';
import { GuardedListener } from '../transport/guarded-listener.js';
import { HandshakeFailureLog } from '../transport/handshake-failures.js';
import { DEFAULT_CONNECTION_CAPS, type ConnectionCaps } from '../transport/connection-caps.js';
import type { PeerCredentials } from '../transport/credentials.js';
import { ListenerMetrics } from './listener-metrics.js';

export async function listenGrpc(
  address: string,
  server: grpc.Server,
  creds: PeerCredentials,
  registry: client.Registry,
  logger: Logger,
  caps: ConnectionCaps = DEFAULT_CONNECTION_CAPS,
): Promise<GuardedListener> {
  const metrics = new ListenerMetrics(registry);
  const log = new HandshakeFailureLog(logger);
  const listener = await GuardedListener.listen(address, {
    server,
    tls: creds.listenerTls ?? null,
    caps,
    events: {
      capped: (reason) => metrics.capped(reason),
      streamResetBeforeServed: () => metrics.streamResetBeforeServed(),
      resetFlood: (over) => metrics.resetFlood(over),
      handshakeFailed: (failure) => {
        metrics.handshakeFailed(failure);
        // A client that hangs up mid-handshake (a port probe, a TCP health check) refused nothing.
        if (failure.reason !== 'closed') log.record(failure);
      },
    },
  });
  metrics.bind(listener);
  return listener;
}
