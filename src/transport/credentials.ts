/**
 * The two ways peers authenticate each other. mTLS: every node holds a certificate signed by
 * the cluster CA and uses it both to serve and to dial; the server refuses clients without a
 * certificate from that CA (or from a separate client CA, when one is configured) and the
 * client verifies the server's certificate and host name. Which of those certificates may
 * call peer RPCs is peer-auth.ts's question.
 */
import fs from 'node:fs';
import type tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TransportError } from './errors.js';
import { agentCaGate, type AgentCaGate, type AgentGateCode } from './agent-ca-gate.js';
import { certificatePeerAuth, type PeerAuth } from './peer-auth.js';
import { pemCrls } from './tls-files.js';

export interface PeerCredentials {
  readonly server: grpc.ServerCredentials;
  readonly client: grpc.ChannelCredentials;
  /**
   * The same server side as tls.createServer's options, for the controller's own listener
   * (guarded-listener.ts), which runs the handshake itself; null in plaintext.
   */
  readonly listenerTls?: tls.TlsOptions | null;
}

/** PEM file paths. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A CA whose certificates may call the client API only; null or absent: none. */
  readonly clientCa?: string | null;
  /** A CA whose certificates may open agent streams only (agent-ca-gate.ts); null or absent: none. */
  readonly agentCa?: string | null;
  /**
   * PEM certificate revocation lists that every client certificate is checked against at the
   * handshake; null or absent: none. It must hold a CRL from each CA that signs client
   * certificates (OpenSSL refuses a certificate whose issuer has none: "unable to get
   * certificate CRL"), and each CRL must be before its nextUpdate.
   */
  readonly crl?: string | null;
}

export function insecureCredentials(): PeerCredentials {
  return { server: grpc.ServerCredentials.createInsecure(), client: grpc.credentials.createInsecure(), listenerTls: null };
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TransportError('TLS_FILE', `expected a readable PEM ${what} at ${file}, found: ${(err as Error).message}`, null, {
      cause: err,
    });
  }
}

export function mutualTlsCredentials(tls: TlsFiles): PeerCredentials {
  const ca = readPem(tls.ca, 'CA certificate');
  const cert = readPem(tls.cert, 'certificate');
  const key = readPem(tls.key, 'private key');
  // The handshake accepts client certificates from any of the CAs; peer RPCs, and the agent CA
  // gate, check which one.
  const extra = [...(tls.clientCa ? [readPem(tls.clientCa, 'client CA certificate')] : []), ...(tls.agentCa ? [readPem(tls.agentCa, 'agent CA certificate')] : [])];
  const clientRoots = Buffer.concat([ca, ...extra.flatMap((pem) => [Buffer.from('\n'), pem])]);
  // Node turns on OpenSSL's CRL checks (the leaf and its chain) only when a CRL is given.
  const revoked = tls.crl ? { crl: pemCrls(readPem(tls.crl, 'certificate revocation list')) } : {};
  return {
    server: withServerOptions(grpc.ServerCredentials.createSsl(clientRoots, [{ cert_chain: cert, private_key: key }], true), { handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, ...revoked }),
    // Outgoing: a server's certificate is not checked against the CRL (see docs/security.md).
    client: grpc.credentials.createSsl(ca, key, cert),
    // What grpc-js's createSsl(..., true) gives tls.createServer, with http2's ALPN ('h2' only).
    listenerTls: { ca: clientRoots, cert, key, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'], handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, ...revoked, ...grpcCipherSuites() },
  };
}

/**
 * A connection that has not finished its TLS handshake after this long is closed. Node's
 * default is 120 s, so anyone who could reach the port (no certificate needed) held 15,000
 * connections that never said hello, 0.6-1 GB of a controller's memory, for two minutes each.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** grpc-js builds its TLS server from the credentials' constructor options (tls.createServer's). */
function withServerOptions(creds: grpc.ServerCredentials, extra: tls.TlsOptions): grpc.ServerCredentials {
  const options: unknown = (creds as unknown as { readonly serverConstructorOptions?: unknown }).serverConstructorOptions;
  if (typeof options === 'object' && options !== null) Object.assign(options, extra);
  return creds;
}

/** grpc-js's GRPC_SSL_CIPHER_SUITES, which its own TLS server honoured. */
function grpcCipherSuites(): { readonly ciphers?: string } {
  const ciphers = process.env.GRPC_SSL_CIPHER_SUITES;
  return ciphers ? { ciphers } : {};
}

/** Peer RPCs with TLS: a peer certificate (peer-auth.ts) from `ca`. */
export function tlsPeerAuth(tls: TlsFiles): PeerAuth {
  const ca = readPem(tls.ca, 'CA certificate');
  try {
    return certificatePeerAuth(ca, Boolean(tls.clientCa) || Boolean(tls.agentCa));
  } catch (err) {
    throw new TransportError('TLS_FILE', `expected a PEM CA certificate at ${tls.ca}, found: ${(err as Error).message}`, null, { cause: err });
  }
}

/** The agent CA gate (agent-ca-gate.ts) when `agentCa` is set; null otherwise. */
export function tlsAgentGate(tls: TlsFiles, onRefused?: (code: AgentGateCode) => void): AgentCaGate | null {
  if (!tls.agentCa) return null;
  const pem = readPem(tls.agentCa, 'agent CA certificate');
  try {
    return agentCaGate(pem, onRefused);
  } catch (err) {
    throw new TransportError('TLS_FILE', `expected a PEM CA certificate at ${tls.agentCa}, found: ${(err as Error).message}`, null, { cause: err });
  }
}
