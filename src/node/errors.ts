/** Errors of the node host, with codes the API layer maps to gRPC statuses and ctl exit codes. */
export type HostErrorCode = 'NOT_LEADER' | 'NO_LEADER' | 'TIMEOUT' | 'SHUTTING_DOWN' | 'STORAGE_FAILED' | 'INVALID_ARGUMENT';

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly code: HostErrorCode,
    message: string,
    readonly leaderHint: string | null = null,
  ) {
    super(message);
  }
}
