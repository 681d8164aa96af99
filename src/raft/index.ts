/** The public surface of the Raft core. */
export type { RaftConfig } from './config.js';
export { type ConfEntry, decodeConfEntry, encodeConfEntry } from './conf-change.js';
export { RaftError, type RaftErrorCode } from './errors.js';
export type { Message, MessageType } from './messages.js';
export { MESSAGE_TYPES } from './messages.js';
export { RawNode, type LogPosition, type NodeStatus, type PeerStatus } from './raw-node.js';
export { isEmptyReady, type Ready } from './ready.js';
export { emptySnapshot, type LogStorage, MemoryStorage } from './storage.js';
export * from './types.js';
export { bootstrapState } from './bootstrap.js';
