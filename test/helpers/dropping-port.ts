/**
 * A loopback port whose SYNs the kernel drops until `heal`, as behind a partition that drops
 * packets: a listener with a backlog of 1 in a stopped process, its accept queue filled, makes
 * the kernel drop every further SYN to its port. Connection attempts there get no answer at all.
 */
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { guardChild } from './reaper.js';

export interface DroppingPort {
  /** Ends the drops: the stopped listener is killed and the port is free again. */
  heal(): Promise<void>;
}

export async function droppingPort(port: number): Promise<DroppingPort> {
  const script = `require('net').createServer().listen({ port: ${port}, host: '127.0.0.1', backlog: 1 }, () => console.log('ready'))`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  guardChild(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGSTOP');
  // Fill the accept queue: connects complete until it is full, then hang.
  const fillers: net.Socket[] = [];
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    fillers.push(socket);
    socket.on('error', () => undefined);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500);
      socket.once('connect', () => (clearTimeout(timer), resolve(true)));
    });
    if (!connected) break;
    if (fillers.length > 64) throw new Error(`port ${port} accepted 64 connections: no full queue`);
  }
  let healed: Promise<void> | null = null;
  return {
    heal: () =>
      (healed ??= (async () => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        for (const s of fillers) s.destroy();
      })()),
  };
}
