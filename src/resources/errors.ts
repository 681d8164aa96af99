/** Errors of the resources layer, each with a stable code. */
export type ResourcesErrorCode =
  /** A member's answer failed validation: it is garbage, not figures. */
  | 'INVALID_ANSWER'
  /** A member could not be asked in time. */
  | 'UNREACHABLE'
  /** A cache file could not be read as one. */
  | 'CACHE_CORRUPT'
  /** A request for the resources of this node was refused (wrong cluster, unknown sender). */
  | 'REFUSED';

export class ResourcesError extends Error {
  override readonly name = 'ResourcesError';
  constructor(
    readonly code: ResourcesErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
