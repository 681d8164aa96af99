/**
 * Client credentials whose TLS material can be swapped while channels are open: every TLS
 * connection a channel opens (its first, and each reconnect) uses the material in force at that
 * moment; connections already up keep theirs. Why not the alternatives grpc-js offers:
 *
 * - `credentials.createSsl` / `createFromSecureContext` fix one SecureContext for the object's
 *   life, and a subchannel keeps the connector it was made with, so a swap would need new
 *   channels everywhere the credentials were handed (the peer transport, the leader forwarder,
 *   the agents layer, autopilot...), and even then a subchannel shared through grpc-js's pool
 *   would keep the old material.
 * - `experimental.createCertificateProviderChannelCredentials` does reload per connection, but
 *   builds its context from a CA, a key and a certificate only: it cannot carry a CRL, so the
 *   server certificates peers present could not be checked for revocation.
 *
 * So this subclass asks for the current context at each connect and hands the connection to
 * grpc-js's own connector for it (`createFromSecureContext(...)._createSecureConnector`), which
 * keeps grpc-js's host name checks, ALPN and target-name override. `_createSecureConnector` is
 * grpc-js's (underscored) extension point, typed in its public .d.ts and exported with
 * `SecureConnector` from `experimental` for exactly such credentials; the tests that dial through
 * this class fail if a grpc-js upgrade changes it.
 */
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { OpenTlsSockets, type ClosedConnection, type RevocationCheck } from './revoked-sockets.js';

export class ReloadableChannelCredentials extends grpc.ChannelCredentials {
  private current: grpc.ChannelCredentials;
  /** Every connection made through these credentials, for closing those to a revoked peer. */
  private readonly connections = new OpenTlsSockets();

  constructor(context: tls.SecureContext) {
    super();
    this.current = grpc.ChannelCredentials.createFromSecureContext(context);
  }

  /** From now on new connections use `context`; open ones keep what they have. */
  swap(context: tls.SecureContext): void {
    this.current = grpc.ChannelCredentials.createFromSecureContext(context);
  }

  /**
   * Closes the open connections whose peer's server certificate (or a CA of its chain)
   * `revocations` revokes: their channels reconnect, and the new handshake meets the new CRL.
   */
  closeRevoked(revocations: RevocationCheck): Promise<ClosedConnection[]> {
    return this.connections.closeRevoked('outgoing', revocations);
  }

  _isSecure(): boolean {
    return true;
  }

  /** Only itself: grpc-js shares subchannels between equal credentials, and ours change. */
  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(target: grpc.experimental.GrpcUri, options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
    const calls = callCredentials ?? grpc.CallCredentials.createEmpty();
    return {
      // Read at connect time, not when the subchannel was made: that is the whole point.
      connect: async (socket) => {
        const material = this.current;
        const connected = await material._createSecureConnector(target, options, calls).connect(socket);
        // A handshake that began before a swap was checked against the CRL and CAs from before:
        // given up, so the channel's next attempt meets the material in force.
        if (this.current !== material) {
          connected.socket.destroy();
          throw new Error('the TLS material was replaced during the handshake; connecting again with the new');
        }
        if (connected.socket instanceof tls.TLSSocket) this.connections.add(connected.socket);
        return connected;
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => undefined,
    };
  }
}
