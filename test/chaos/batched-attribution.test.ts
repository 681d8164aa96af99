/**
 * The fault proxies' attribution of connections to nodes (chaos/batched-attribution.ts,
 * proc-sockets.ts) on a fake /proc: connections accepted in one turn cost one read of the TCP
 * table and one pass over the nodes' fds, and each still gets its own node.
 */
import t from 'tap';
import { BatchedAttribution } from '../../chaos/batched-attribution.js';
import { pidsOfLoopbackClients, type ProcView } from '../../chaos/proc-sockets.js';

const SERVER_PORT = 25001;
const hex = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/** A /proc with `sockets` (client port -> [pid, inode]) connected to SERVER_PORT, plus `noise` fds per process. */
function fakeProc(sockets: ReadonlyMap<number, readonly [number, number]>, noise: number): ProcView & { tableReads: number; links: number } {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  const rows = [...sockets].map(([port, [, inode]], i) => `   ${i}: ${hex(port)} ${hex(SERVER_PORT)} 01 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0 20 4 30 10 -1`);
  const fdsOf = new Map<number, string[]>();
  for (const [, [pid, inode]] of sockets) fdsOf.set(pid, [...(fdsOf.get(pid) ?? []), `socket:[${inode}]`]);
  for (const [pid, fds] of fdsOf) for (let i = 0; i < noise; i++) fds.unshift(`/dev/null${pid}-${i}`);
  const view = {
    tableReads: 0,
    links: 0,
    tcpTable: () => {
      view.tableReads += 1;
      return [header, ...rows].join('\n');
    },
    fds: (pid: number) => fdsOf.get(pid)?.map((_, i) => String(i)) ?? null,
    link: (pid: number, fd: string) => {
      view.links += 1;
      return fdsOf.get(pid)?.[Number(fd)] ?? null;
    },
  };
  return view;
}

// Three nodes, each with two connections open, and 50 other fds each.
const NODES = new Map([
  [101, 'c1'],
  [102, 'c2'],
  [103, 'c3'],
]);
const SOCKETS = new Map<number, readonly [number, number]>([
  [40001, [101, 9001]],
  [40002, [101, 9002]],
  [40003, [102, 9003]],
  [40004, [102, 9004]],
  [40005, [103, 9005]],
  [40006, [103, 9006]],
]);

void t.test('connections accepted in one turn: one table read, one pass over the fds, each its own node', async (t) => {
  const proc = fakeProc(SOCKETS, 50);
  const runs: Array<() => void> = [];
  const attribution = new BatchedAttribution({ nodes: () => NODES, proc, defer: (run) => runs.push(run) });
  const ports = [40006, 40001, 40004, 40002, 40005, 40003, 49999];
  const answers = Promise.all(ports.map((clientPort) => attribution.identify({ clientPort, serverPort: SERVER_PORT })));
  t.equal(runs.length, 1, 'one lookup scheduled for the whole burst');
  t.equal(proc.tableReads, 0, 'nothing read before the turn ends');
  runs.shift()!();
  t.strictSame(await answers, ['c3', 'c1', 'c2', 'c1', 'c3', 'c2', null], 'each connection its node; an unknown port none');
  t.equal(attribution.lookups, 1, 'one lookup');
  t.equal(proc.tableReads, 1, 'one read of /proc/net/tcp for seven connections');
  t.ok(proc.links <= 3 * 52, `each fd read at most once (${proc.links} readlinks for 3 x 52 fds)`);
  // A connection accepted after the batch ran waits for (and costs) a lookup of its own.
  const late = attribution.identify({ clientPort: 40003, serverPort: SERVER_PORT });
  t.equal(runs.length, 1, 'a new lookup scheduled');
  runs.shift()!();
  t.equal(await late, 'c2');
  t.equal(proc.tableReads, 2);
});

void t.test('the lookup: the first candidate holding each socket; gone or unlisted processes are none', async (t) => {
  const proc = fakeProc(SOCKETS, 3);
  const conns = [40005, 40001, 40003].map((clientPort) => ({ clientPort, serverPort: SERVER_PORT }));
  t.strictSame(pidsOfLoopbackClients(conns, [101, 103], proc), [103, 101, null], "c2's process is not a candidate");
  t.strictSame(pidsOfLoopbackClients(conns, [999, 102], proc), [null, null, 102], 'a process gone meanwhile is skipped');
  t.strictSame(pidsOfLoopbackClients([{ clientPort: 40001, serverPort: SERVER_PORT + 1 }], [101], proc), [null], 'another server port is another connection');
});
