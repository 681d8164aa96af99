/** Errors of the membership layer. Each has a stable `code`; messages say what was expected and found. */
export type MembershipErrorCode =
  | 'UNKNOWN_PEER'
  | 'DUPLICATE_PEER'
  | 'INVALID_SAMPLE'
  | 'INVALID_CONFIG'
  | 'INVALID_VIEW'
  | 'INVALID_AUDIT_EVENT'
  | 'AUDIT_STORE_CLOSED';

export class MembershipError extends Error {
  override readonly name: string = 'MembershipError';
  constructor(
    readonly code: MembershipErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bytes received as a membership view that are not one this version writes. */
export class ViewDecodeError extends MembershipError {
  override readonly name = 'ViewDecodeError';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('INVALID_VIEW', message, options);
  }
}

/** A stored or received audit event that does not have the contract's shape. */
export class AuditEventError extends MembershipError {
  override readonly name = 'AuditEventError';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('INVALID_AUDIT_EVENT', message, options);
  }
}

/** A non-negative finite number, or a MembershipError naming `what`. */
export function requireNonNegative(what: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new MembershipError('INVALID_SAMPLE', `${what}: expected a finite number >= 0, found ${String(value)}`);
  }
  return value;
}

export function requirePositiveInt(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new MembershipError('INVALID_CONFIG', `${what}: expected a positive integer, found ${String(value)}`);
  }
  return value;
}
