/**
 * The two ways peers authenticate each other. mTLS: every node holds a certificate signed by
 * the cluster CA and uses it both to serve and to dial; the server refuses clients without a
 * CA-signed certificate and the client verifies the server's certificate and host name.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { TransportError } from './errors.js';

export interface PeerCredentials {
  readonly server: grpc.ServerCredentials;
  readonly client: grpc.ChannelCredentials;
}

/** PEM file paths. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function insecureCredentials(): PeerCredentials {
  return { server: grpc.ServerCredentials.createInsecure(), client: grpc.credentials.createInsecure() };
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
  return {
    server: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true),
    client: grpc.credentials.createSsl(ca, key, cert),
  };
}
