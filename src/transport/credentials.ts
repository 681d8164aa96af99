/**
 * The two ways peers authenticate each other. mTLS: every node holds a certificate signed by
 * the cluster CA and uses it both to serve and to dial; the server refuses clients without a
 * certificate from that CA (or from a separate client CA, when one is configured) and the
 * client verifies the server's certificate and host name. Which of those certificates may
 * call peer RPCs is peer-auth.ts's question.
 */
import fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import type tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TransportError } from './errors.js';
import { agentCaGate, type AgentCaGate, type AgentGateCode } from './agent-ca-gate.js';
import { certificatePeerAuth, type PeerAuth } from './peer-auth.js';
import { pemCrls } from './tls-files.js';
import { ReloadableChannelCredentials } from './reloadable-channel-credentials.js';

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
   * handshake, and the server certificate of every peer this node dials; null or absent: none. It must hold a CRL from each CA that signs client
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

/** The bytes TLS is built from (a TlsSnapshot holds them): PEM, as in the files. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer | null;
  readonly agentCa?: Buffer | null;
  readonly crl?: Buffer | null;
}

export function mutualTlsCredentials(tls: TlsFiles): PeerCredentials & { readonly client: ReloadableChannelCredentials } {
  return mutualTlsCredentialsFrom({
    ca: readPem(tls.ca, 'CA certificate'),
    cert: readPem(tls.cert, 'certificate'),
    key: readPem(tls.key, 'private key'),
    clientCa: tls.clientCa ? readPem(tls.clientCa, 'client CA certificate') : null,
    agentCa: tls.agentCa ? readPem(tls.agentCa, 'agent CA certificate') : null,
    crl: tls.crl ? readPem(tls.crl, 'certificate revocation list') : null,
  });
}

/** As mutualTlsCredentials, from bytes already read (and checked: tls-snapshot.ts). */
export function mutualTlsCredentialsFrom(m: TlsMaterial): PeerCredentials & { readonly client: ReloadableChannelCredentials } {
  const server = grpc.ServerCredentials.createSsl(clientRoots(m), [{ cert_chain: m.cert, private_key: m.key }], true);
  return {
    server: withServerOptions(server, { handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, ...revoked(m) }),
    client: new ReloadableChannelCredentials(clientSecureContext(m)),
    listenerTls: listenerTlsOptions(m),
  };
}

/** Node turns on OpenSSL's CRL checks (the leaf and its chain) only when a CRL is given. */
function revoked(m: TlsMaterial): { readonly crl?: string[] } {
  return m.crl ? { crl: pemCrls(m.crl) } : {};
}

/**
 * What grpc-js's createSsl(..., true) gives tls.createServer, with http2's ALPN ('h2' only): the
 * controller's own listener's options (guarded-listener.ts), at start and on each reload. The
 * handshake accepts client certificates from any of the CAs; peer RPCs, and the agent CA gate,
 * check which one.
 */
export function listenerTlsOptions(m: TlsMaterial): tls.TlsOptions {
  return { ca: clientRoots(m), cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'], handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, ...revoked(m), ...grpcCipherSuites() };
}

/** The CAs a client certificate may come from: the controllers', the clients', the agents'. */
function clientRoots(m: TlsMaterial): Buffer {
  const extra = [m.clientCa, m.agentCa].filter((pem): pem is Buffer => pem != null);
  return Buffer.concat([m.ca, ...extra.flatMap((pem) => [Buffer.from('\n'), pem])]);
}

/**
 * What this node dials with: its certificate, the controllers' CA to verify the server with, and
 * the CRL, so a peer presenting a revoked server certificate is refused as a revoked client is
 * (the file covers tls.ca: tls-snapshot.ts refuses one that does not).
 */
export function clientSecureContext(m: TlsMaterial): tls.SecureContext {
  return createSecureContext({ ca: m.ca, key: m.key, cert: m.cert, ...revoked(m), ...grpcCipherSuites() });
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
  const others = Buffer.concat([readPem(tls.ca, 'CA certificate'), ...(tls.clientCa ? [Buffer.from('\n'), readPem(tls.clientCa, 'client CA certificate')] : [])]);
  try {
    return agentCaGate(pem, onRefused, others);
  } catch (err) {
    throw new TransportError('TLS_FILE', `expected a PEM CA certificate at ${tls.agentCa}, found: ${(err as Error).message}`, null, { cause: err });
  }
}
