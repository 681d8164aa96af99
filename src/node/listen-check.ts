/**
 * Before a controller writes anything, it checks that it can listen where its config says: a
 * port in use (or an address that is not this machine's) is refused in one line that names
 * the address and the cause, instead of grpc-js's bind error after the data dir was created.
 * The check binds and releases each address at once; the real bind follows moments later.
 */
import net from 'node:net';
import { parseHostPort } from '../config/host-port.js';

const CAUSES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another controller, or another program, holds the port)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
};

/** null when `address` can be bound (and is released at once); else the error's code (EADDRINUSE, ...). */
export async function bindError(address: string): Promise<string | null> {
  const hp = parseHostPort(address);
  if (!hp.ok) return null; // the config loader has already refused malformed addresses
  return new Promise<string | null>((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host: hp.value.host.replace(/^\[|\]$/g, ''), port: hp.value.port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/** null when every address can be bound; else one line: `cannot listen on ADDR (what): cause`. */
export async function listenProblem(addresses: ReadonlyArray<readonly [what: string, address: string]>): Promise<string | null> {
  for (const [what, address] of addresses) {
    const code = await bindError(address);
    if (code !== null) return `cannot listen on ${address} (${what}): ${CAUSES[code] ?? code}`;
  }
  return null;
}
