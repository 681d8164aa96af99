/** Errors of the identity layer, each with a stable code and the exit code the CLI uses. */
import type { StartupRefusalCode } from './startup-decision.js';

/** The start-up decision refused this data dir: the process exits 2 with the message. */
export class StartupRefusedError extends Error {
  override readonly name = 'StartupRefusedError';
  readonly exitCode = 2;
  constructor(
    readonly code: StartupRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the data dir holds contradicts what the node applied: stop rather than guess. */
export class IdentityConflictError extends Error {
  override readonly name = 'IdentityConflictError';
  readonly code = 'IDENTITY_CONFLICT';
}
