/** Errors the state machine reports. Each has a stable `code` the API layer maps to a status. */
export type StateMachineErrorCode = 'INVALID_COMMAND' | 'INVALID_SNAPSHOT' | 'INVALID_REGISTRY' | 'INVALID_INDEX';

export class StateMachineError extends Error {
  override readonly name: string = 'StateMachineError';
  constructor(
    readonly code: StateMachineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A command that cannot be decoded or violates a limit. Never thrown out of `apply()`. */
export class CommandError extends StateMachineError {
  override readonly name = 'CommandError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_COMMAND', message, options);
  }
}

/** Snapshot bytes that are not a snapshot this version wrote. */
export class SnapshotError extends StateMachineError {
  override readonly name = 'SnapshotError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_SNAPSHOT', message, options);
  }
}
