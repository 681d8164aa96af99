/**
 * `controller recover` reads each voter's answer to the start-up question (src/recover/peer-answers.ts):
 * a refusal of this node's file is a running member; only silence is not. The error texts are
 * the ones askPeers gives for a real cluster (the e2e test recover-wrong-file runs them end to end).
 */
import http2 from 'node:http2';
import net from 'node:net';
import t from 'tap';
import type { PeerAnswer } from '../../src/identity/index.js';
import { refusalClause } from '../../src/recover/live-quorum.js';
import { classifyAnswer } from '../../src/recover/peer-answers.js';
import { askPeers, insecureCredentials } from '../../src/transport/index.js';

const asker = { clusterId: 'aaaaaaaaaaaaaaaa', clusterName: 'prod' };
/** As askPeers words a failed call: `STATUS: details`, or an answer that did not decode. */
const error = (text: string): PeerAnswer => {
  const [, status = null, details = text] = /^([A-Z_]+): ([\s\S]*)$/.exec(text) ?? [];
  return { peer: 'c1', error: text, status, details };
};
const reply = (clusterId: string | null): PeerAnswer => ({
  peer: 'c1',
  reply: { memberId: 'c1', incarnation: 'bbbbbbbbbbbbbbbb', clusterId, lastIndex: 12, appliedIndex: 12, you: { member: true, role: 'voter', recorded: '', heard: '', removed: false, address: null }, creationNodes: null },
});

void t.test('a reply: a member of this cluster, or of another (not counted)', async (t) => {
  t.strictSame(classifyAnswer(reply(asker.clusterId), asker), { kind: 'member', id: 'c1', lastIndex: 12 });
  t.strictSame(classifyAnswer(reply('cccccccccccccccc'), asker), { kind: 'other-cluster', id: 'c1' });
});

void t.test("a controller's refusal of this node's file: it runs, and the cause is named", async (t) => {
  t.strictSame(classifyAnswer(error('PERMISSION_DENIED: CLUSTER_NAME: cluster name mismatch: expected "att3", found "prod"'), asker), {
    kind: 'refused',
    id: 'c1',
    cause: `refused this file's cluster name "prod": they run cluster "att3"`,
    detail: null,
  });
  t.match(classifyAnswer(error("PERMISSION_DENIED: NOT_A_PEER: the caller's certificate (CN=operator) is not a peer certificate"), asker), {
    kind: 'refused',
    cause: /^refused this file's TLS certificate \(NOT_A_PEER: the caller's certificate \(CN=operator\)/,
  });
  t.match(classifyAnswer(error('PERMISSION_DENIED: WRONG_PEER: names c2'), asker), { kind: 'refused', cause: /^refused this file's TLS certificate \(WRONG_PEER/ });
  t.match(classifyAnswer(error('INVALID_ARGUMENT: misdirected: expected to="c4", found "c1"'), asker), { kind: 'refused', cause: 'refused the question (INVALID_ARGUMENT)', detail: /misdirected/ });
  t.match(classifyAnswer(error('malformed answer: no member id'), asker), { kind: 'refused', cause: 'gave a malformed answer' });
});

void t.test('a connection accepted, then ended in the TLS handshake: something runs there', async (t) => {
  for (const [text, detail] of [
    ['UNAVAILABLE: No connection established. Last error: Failed to connect (2026-12-04T04:29:02.529Z). Resolution note: ', 'Failed to connect'],
    ['UNAVAILABLE: No connection established. Last error: read ECONNRESET (2026-12-04T04:29:02.529Z). Resolution note: ', 'read ECONNRESET'],
    ['UNAVAILABLE: No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ', 'self-signed certificate in certificate chain'],
  ] as const) {
    t.strictSame(classifyAnswer(error(text), asker), { kind: 'refused', id: 'c1', cause: "ended the connection in the TLS handshake: this file's tls settings and theirs do not agree", detail }, detail);
  }
});

void t.test('nothing answered: down, frozen, unreachable, unresolvable, or not a controller', async (t) => {
  for (const text of [
    'UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:22355. Resolution note: ',
    'UNAVAILABLE: No connection established. Last error: Error: connect EHOSTUNREACH 10.0.0.9:7101. Resolution note: ',
    'UNAVAILABLE: Name resolution failed for target dns:gone.example:7101',
    'DEADLINE_EXCEEDED: Deadline exceeded after 2.000s,name resolution: 0.001s,Waiting for LB pick',
    'UNIMPLEMENTED: The server does not implement the method /raft.RaftPeer/Hello',
  ]) {
    t.strictSame(classifyAnswer(error(text), asker), { kind: 'silent', id: 'c1' }, text);
  }
});

void t.test('a connection that came up and carried the question, with no answer in time: a process runs there (a loaded host)', async (t) => {
  const slow = classifyAnswer(error('DEADLINE_EXCEEDED: Deadline exceeded after 5.001s,name resolution: 0.001s,metadata filters: 0.002s,LB pick: 0.003s,remote_addr=127.0.0.1:22355'), asker);
  t.strictSame(slow, { kind: 'slow', id: 'c1', within: '5.001s', at: '127.0.0.1:22355' });
  t.equal(slow.kind === 'slow' ? refusalClause(slow) : null, 'connected and had no answer within 5.001s (at 127.0.0.1:22355: running but overloaded, or paused?)', 'worded from the kind');
});

void t.test("grpc-js's own words, from real sockets: a live HTTP/2 server that never answers runs; a listener that never speaks HTTP/2 (a frozen process's kernel) is silent", async (t) => {
  const ask = async (address: string): Promise<PeerAnswer> => {
    const [answer] = await askPeers({ self: 'c3', clusterName: 'prod', ask: { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null }, targets: [{ id: 'c1', address }], credentials: insecureCredentials().client, deadlineMs: 400 });
    return answer!;
  };
  const listening = async (server: net.Server | http2.Http2Server): Promise<string> => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => server.close());
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  };
  const live = http2.createServer();
  live.on('stream', () => undefined);
  const slow = classifyAnswer(await ask(await listening(live)), asker);
  t.match(slow, { kind: 'slow', id: 'c1' });
  t.match(slow.kind === 'slow' ? refusalClause(slow) : null, /^connected and had no answer within [\d.]+s \(at 127\.0\.0\.1:\d+: running but overloaded, or paused\?\)$/);
  const sockets: net.Socket[] = [];
  const frozen = net.createServer((s) => void sockets.push(s));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.strictSame(classifyAnswer(await ask(await listening(frozen)), asker), { kind: 'silent', id: 'c1' });
});
