/** How a stream client reaches its server: in plaintext, or over TLS with this context (CA, and the client's own certificate for mutual TLS). */
import type { SecureContext } from 'node:tls';

export type StreamSecurity = { readonly kind: 'insecure' } | { readonly kind: 'tls'; readonly context: SecureContext };

export const INSECURE: StreamSecurity = { kind: 'insecure' };
