/**
 * Ports for processes a test starts later (and may restart): free now, and kept from everyone
 * else until this process exits.
 *
 * Two things can take a port between the moment it is picked and the moment a controller binds
 * it (or binds it again after a restart). The kernel hands out source ports of outgoing
 * connections from its ephemeral range, and a port asked of it with listen(0) comes from that
 * same range, so any connection on the machine may grab it: ports here come from below that
 * range. A parallel test run may pick the same port: each port is reserved by a file created
 * exclusively under the temp dir, naming the owner's pid; a reservation whose owner is gone is
 * taken over.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const RESERVATIONS = path.join(os.tmpdir(), 'raft-controller-test-ports');
const LOWEST = 10_000;
const owned = new Set<number>();

/**
 * [first, last] of the ports no outgoing connection takes: below the kernel's ephemeral range.
 * TEST_PORT_RANGE=FIRST-LAST chooses the range instead (a run sharing the host with others that
 * was given its own ports).
 */
function portRange(env: NodeJS.ProcessEnv = process.env): readonly [number, number] {
  const chosen = /^(\d+)-(\d+)$/.exec(env.TEST_PORT_RANGE ?? '');
  if (chosen !== null && Number(chosen[1]) <= Number(chosen[2])) return [Number(chosen[1]), Number(chosen[2])];
  let ephemeralStart = 32_768;
  try {
    const [start] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (start !== undefined && Number.isInteger(start) && start > LOWEST + 1000) ephemeralStart = start;
  } catch {
    // Not Linux: the IANA ephemeral range starts at 49152, so 32768 is on the safe side.
  }
  return [LOWEST, ephemeralStart - 1];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves `port` for this process; false when a live process holds it. */
function reserve(port: number): boolean {
  const file = path.join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      owned.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
      fs.rmSync(file, { force: true }); // its owner is gone: take it over
    }
  }
  return false;
}

function release(port: number): void {
  owned.delete(port);
  fs.rmSync(path.join(RESERVATIONS, String(port)), { force: true });
}

process.once('exit', () => {
  for (const port of owned) fs.rmSync(path.join(RESERVATIONS, String(port)), { force: true });
});

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePorts(n: number): Promise<number[]> {
  fs.mkdirSync(RESERVATIONS, { recursive: true });
  const [first, last] = portRange();
  const size = last - first + 1;
  // Start where this pid points, so parallel runs rarely even meet on a reservation.
  const start = (process.pid * 7_919) % size;
  const ports: number[] = [];
  for (let i = 0; i < size && ports.length < n; i++) {
    const port = first + ((start + i) % size);
    if (owned.has(port) || !reserve(port)) continue;
    if (await bindable(port)) ports.push(port);
    else release(port);
  }
  if (ports.length < n) throw new Error(`only ${ports.length} of ${n} free ports in ${first}-${last}`);
  return ports;
}
