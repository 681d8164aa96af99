/**
 * How large a log entry may be, and how large a peer message must therefore be allowed to be.
 *
 * An entry the leader cannot send is worse than a refused write: it stays at the head of every
 * follower's queue and every later write waits behind it (a 1,000,000-byte value of U+0001 once
 * became 6 MB of JSON, over the 4 MiB peer limit). So the size is checked on the encoded entry
 * when a command is encoded, and the config refuses a peer message limit that could not carry
 * the largest entry with its framing.
 */

/** The longest key, in UTF-8 bytes: every RPC that takes a key refuses a longer one. */
export const MAX_KEY_BYTES = 1024;

/** The largest value a key may hold. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** The largest encoded command: the largest value plus room for its key and envelope. */
export const MAX_ENTRY_BYTES = MAX_VALUE_BYTES + 64 * 1024;

/** Room a peer message needs beyond its entries: the batch, the message and entry fields. */
export const PEER_FRAMING_BYTES = 64 * 1024;

/** The smallest `raft.max_message_bytes` that still carries the largest entry. */
export const MIN_PEER_MESSAGE_BYTES = MAX_ENTRY_BYTES + PEER_FRAMING_BYTES;
