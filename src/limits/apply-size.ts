/**
 * How large one `ctl apply` may be: the resources encoded as JSON, as they travel and become
 * one Raft entry. The server refuses a larger request before parsing it; `ctl` refuses it before
 * sending, so an operator sees this limit rather than gRPC's 4 MiB message limit.
 */
export const MAX_APPLY_BYTES = 2 * 1024 * 1024;
