/**
 * Tells when the reader of a pipe on stdout has gone (`ctl audit --follow | head -1`), without
 * writing to it. A follow that printed nothing more learned it only from EPIPE at its next write,
 * so it ran on until the next event, minutes or hours later (attack-operator round 15). GNU
 * `tail -f` polls its stdout for POLLERR for the same reason; Node has no poll, so the pipe is
 * opened again (a second, write-only file description of it: not a reader, so it does not keep
 * the pipe open) under a libuv stream handle that reads. Linux reports EPOLLERR on a pipe's
 * write end once it has no reader, and the read libuv then tries fails (EBADF): that is the
 * signal. A TCP handle is used because libuv's pipe handle refuses to read a write-only fd.
 * Linux only (/proc/self/fd); anywhere it cannot be set up, the follow ends at its next write.
 */
import fs from 'node:fs';
import net from 'node:net';

interface StreamHandleCtor {
  new (type: number): { open(fd: number): number };
}

/** libuv's TCP handle class, from Node's internal binding; null where Node no longer offers it. */
function tcpHandleClass(): { Tcp: StreamHandleCtor; socketType: number } | null {
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding('tcp_wrap') as { TCP?: StreamHandleCtor; constants?: { SOCKET?: number } };
    if (typeof binding.TCP !== 'function' || typeof binding.constants?.SOCKET !== 'number') return null;
    return { Tcp: binding.TCP, socketType: binding.constants.SOCKET };
  } catch {
    return null;
  }
}

/**
 * Calls `onClosed` once when the pipe on `fd` (stdout) loses its reader; returns the function
 * that stops watching. Does nothing when `fd` is not a pipe (a terminal, a file) or the watch
 * cannot be set up.
 */
export function watchOutputClosed(onClosed: () => void, fd = 1): () => void {
  let other: number;
  try {
    if (process.platform !== 'linux' || !fs.fstatSync(fd).isFIFO()) return () => undefined;
    other = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch {
    return () => undefined;
  }
  const tcp = tcpHandleClass();
  const handle = tcp === null ? null : new tcp.Tcp(tcp.socketType);
  if (tcp === null || handle === null || handle.open(other) !== 0) {
    fs.closeSync(other);
    return () => undefined;
  }
  // `handle` is an option net.Socket takes and its types do not list.
  const socket = new net.Socket({ handle, readable: true, writable: false } as unknown as net.SocketConstructorOpts);
  let fired = false;
  const fire = (): void => {
    if (fired) return;
    fired = true;
    socket.destroy();
    onClosed();
  };
  // EBADF is the signal; any other end of this side stream means the same or that it cannot tell.
  socket.on('error', fire);
  socket.on('end', fire);
  socket.unref();
  socket.resume();
  return () => {
    fired = true;
    socket.destroy();
  };
}
