/**
 * The largest message the server sends: an agent's whole configuration in one push, a large
 * `ctl get` or `list agents` answer. Not raft.max_message_bytes, which bounds what peers send
 * each other (and what the server accepts): at 4 MiB, 34,000 resources (or one agent
 * publishing long names for two minutes) made a configuration no agent could receive, so
 * every agent failed to sync. Peers' answers are budgeted below their own limit (reply-desk.ts).
 */
export const MAX_SEND_MESSAGE_BYTES = 64 * 1024 * 1024;
