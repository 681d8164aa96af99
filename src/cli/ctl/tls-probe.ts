/**
 * When ctl could not reach any endpoint, grpc-js may have dropped the reason ("Failed to
 * connect", "Connection dropped"). A
 * TLS handshake of our own with the same files tells it: a server that speaks TLS to a client
 * without TLS settings, or the alert a TLS server sent (unknown CA, certificate required,
 * expired). The answer names TLS and the cause; null when the handshake shows nothing wrong.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { closedDuringHandshake, describeTlsFailure, refusedHttp2 } from '../../api/tls-errors.js';
import { pemCrls } from '../../transport/tls-files.js';

export interface TlsSettings {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly crl?: string | undefined;
}

/** How long after the handshake a server's alert (TLS 1.3 sends it then) may take to arrive. */
const ALERT_WAIT_MS = 300;

export function probeTls(endpoint: string, files: TlsSettings, timeoutMs: number): Promise<string | null> {
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(endpoint.slice(at + 1));
  const secure = files.ca !== undefined || files.cert !== undefined || files.key !== undefined;
  const read = (f: string | undefined): Buffer | undefined => {
    try {
      return f === undefined ? undefined : fs.readFileSync(f);
    } catch {
      return undefined;
    }
  };
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const ca = read(files.ca);
    const cert = read(files.cert);
    const key = read(files.key);
    const crl = read(files.crl);
    const socket = tls.connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(crl === undefined ? {} : { crl: pemCrls(crl) }),
      rejectUnauthorized: secure,
    });
    const timer = setTimeout(() => finish(null), timeoutMs);
    let connected = false;
    socket.on('secureConnect', () => {
      connected = true;
      if (!secure) {
        finish(closedDuringHandshake(false));
        return;
      }
      setTimeout(() => finish(null), ALERT_WAIT_MS);
    });
    // Read, so that an alert the server sends after the handshake is seen.
    socket.on('data', () => undefined);
    socket.on('close', () => {
      if (connected && secure) finish(closedDuringHandshake(true));
    });
    socket.on('error', (err: Error) => {
      // Without TLS settings, the one story is a TLS server that refuses HTTP/2 (not gRPC);
      // anything else is a server that does not speak TLS, which is not ours to tell.
      if (!secure) return finish(refusedHttp2(err.message) ? describeTlsFailure(err.message) : null);
      finish(describeTlsFailure(err.message)); // refused, reset before any TLS: not a TLS story
    });
  });
}
