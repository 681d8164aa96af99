import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePorts } from './free-ports.js';

const RESERVATIONS = path.join(os.tmpdir(), 'raft-controller-test-ports');

function ephemeralStart(): number {
  const [start] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return start ?? 32_768;
}

void t.test('ports are below the ephemeral range, distinct, and reserved under this pid', async (t) => {
  const a = await freePorts(4);
  const b = await freePorts(4);
  const all = [...a, ...b];
  t.equal(new Set(all).size, 8, 'no port handed out twice');
  t.ok(all.every((p) => p >= 10_000 && p < ephemeralStart()), `all below ${ephemeralStart()}: ${all.join(', ')}`);
  for (const p of all) t.equal(fs.readFileSync(path.join(RESERVATIONS, String(p)), 'utf8'), String(process.pid));
});

void t.test("a live process's reservation is skipped, a dead one's taken over", async (t) => {
  const [probe] = await freePorts(1);
  const next = probe! + 1;
  // The parent of this test is alive: a port it holds is never handed out.
  const heldFile = path.join(RESERVATIONS, String(next));
  const before = fs.existsSync(heldFile) ? fs.readFileSync(heldFile, 'utf8') : null;
  if (before === null) fs.writeFileSync(heldFile, String(process.ppid));
  t.teardown(() => {
    if (before === null) fs.rmSync(heldFile, { force: true });
  });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  t.ok(dead !== undefined && dead > 0, 'a process that has exited');
  const stale = next + 1;
  const staleFile = path.join(RESERVATIONS, String(stale));
  if (!fs.existsSync(staleFile)) fs.writeFileSync(staleFile, String(dead));
  const more = await freePorts(40);
  t.notOk(more.includes(next), `port ${next}, held by live pid ${fs.readFileSync(heldFile, 'utf8')}, is skipped`);
  if (fs.readFileSync(staleFile, 'utf8') === String(process.pid)) t.ok(more.includes(stale), 'the dead owner\'s port was taken over');
  else t.pass(`port ${stale} belongs to another live run`);
});
