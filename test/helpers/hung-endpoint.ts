/** A server that accepts TCP and never answers: a hung endpoint, its connections held CONNECTING. */
import net from 'node:net';
import type { Test } from 'tap';

/** Listens on a free loopback port until the test ends; resolves with its `host:port`. */
export async function hungEndpoint(t: Test): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`expected a TCP address, found ${String(address)}`);
  return `127.0.0.1:${address.port}`;
}
