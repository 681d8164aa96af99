/**
 * A TCP listener that accepts connections and never says a word: a grpc-js channel to it stays
 * CONNECTING (no HTTP/2 settings ever come), and what is sent there is never acknowledged.
 */
import net from 'node:net';

export async function silentServer(port: number): Promise<{ address: string; stop: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve));
  return {
    address: `127.0.0.1:${port}`,
    stop: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
