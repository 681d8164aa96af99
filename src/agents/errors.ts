/** Errors of the agents layer, each with a stable `code`; messages say what was expected and found. */
export type AgentsErrorCode =
  | 'MALFORMED_MESSAGE' // a stream message that does not decode or breaks a limit
  | 'PROTOCOL' // a message out of order (an ACK before any hello, a second hello, ...)
  | 'IDENTITY' // a TLS identity that does not match the agent id it claims
  | 'INVALID_CONFIG'; // agent.yaml or a hub option that is not usable

export class AgentsError extends Error {
  override readonly name: string = 'AgentsError';
  constructor(
    readonly code: AgentsErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A message from the other end of a sync stream that cannot be trusted as it is. */
export class MalformedMessageError extends AgentsError {
  override readonly name = 'MalformedMessageError';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('MALFORMED_MESSAGE', message, options);
  }
}
