/** The peer transport's public surface. */
export { decodeMessage, encodeMessage, type ProtoMessage } from './codec.js';
export { insecureCredentials, mutualTlsCredentials, tlsPeerAuth, type PeerCredentials, type TlsFiles } from './credentials.js';
export { AnsweredByOtherError, DialFailedError, isUnreachableAtAddress, PayloadError, ProtocolError, TransportError, type TransportErrorCode, type UnreachableAtAddress } from './errors.js';
export { askPeers, decodeHello, type AskPeersOptions, type HelloTarget } from './hello-client.js';
export { certificatePeerAuth, ownCertificateProblem, peerUri, plaintextPeerAuth, PEER_URI_PREFIX, type PeerAuth } from './peer-auth.js';
export { basicIdentity, type StatusReport, type TransportIdentity } from './peer-identity.js';
export type { PingResult } from './peer-link.js';
export { refusalOf } from './refusal-status.js';
export {
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_STEP_DEADLINE_MS,
  PeerTransport,
  peerChannelOptions,
  peerServerOptions,
  type PeerTransportOptions,
  type TransportStats,
} from './peer-transport.js';
export { loadProto, lookupService, packageRoot, protoDir, PROTO_DECODE_OPTIONS } from './proto.js';
