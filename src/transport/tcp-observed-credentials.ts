/**
 * Channel credentials that say when a connection attempt of their channel has its TCP
 * connection: grpc-js hands the connected socket to the credentials' connector before the TLS
 * and HTTP/2 handshakes, and that is the only moment a channel's owner can learn that the peer
 * answered its SYN. stuck-connect.ts uses it to tell an attempt whose SYN is unanswered (give it
 * up at once: a new SYN reaches a healed peer) from a handshake that is merely slow (be patient).
 *
 * Everything else is the wrapped credentials'. `_createSecureConnector` is grpc-js's extension
 * point (see reloadable-channel-credentials.ts). Equal only to itself, so give each channel its
 * own, on a local subchannel pool (a shared subchannel would report to one channel only).
 *
 * A connector grpc-js has destroyed (its subchannel is no longer used: the channel was closed)
 * connects nothing more. A channel closed while it waits out its reconnect backoff left a
 * subchannel that made one more attempt all the same, and if that one connected, a connection
 * nobody owns stayed open to the peer, pinging it every second (a link replaced as its peer came
 * back: PeerTransport.redialOnContact).
 */
import * as grpc from '@grpc/grpc-js';

export class TcpObservedCredentials extends grpc.ChannelCredentials {
  constructor(
    private readonly inner: grpc.ChannelCredentials,
    private readonly onTcpConnected: () => void,
  ) {
    super();
  }

  _isSecure(): boolean {
    return this.inner._isSecure();
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(target: grpc.experimental.GrpcUri, options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
    const connector = this.inner._createSecureConnector(target, options, callCredentials);
    let destroyed = false;
    const gone = (): Error => new Error(`connection to ${target.path} not made: its channel was closed`);
    return {
      connect: (socket) => {
        if (destroyed) {
          socket.destroy();
          return Promise.reject(gone());
        }
        this.onTcpConnected();
        return connector.connect(socket);
      },
      // Asked before the TCP connection is opened: a destroyed connector opens none.
      waitForReady: () => (destroyed ? Promise.reject(gone()) : connector.waitForReady()),
      getCallCredentials: () => connector.getCallCredentials(),
      destroy: () => {
        destroyed = true;
        connector.destroy();
      },
    };
  }
}
