/**
 * The pure parts of a TLS reload: the snapshot a reload swaps in is the bytes it checked (each
 * file read once), its checks are the start's; what changed between two snapshots; when a CRL
 * or the own certificate counts as near its end (under 24 h, or under a quarter of its
 * validity), warned once per item; and which CAs the call-level checks keep after a reload.
 * Times are fixed offsets from the certificates' own dates, never the test's clock.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { CrlSummary } from '../../src/transport/crl-coverage.js';
import { retainedCaPem } from '../../src/transport/reloadable-auth.js';
import { tlsChange } from '../../src/transport/tls-change.js';
import { crlDeadlines, earliestNextUpdate, EXPIRY_FLOOR_MS, expiryWarnings, nearEnd, WarnedOnce } from '../../src/transport/tls-expiry.js';
import { pemCertificates } from '../../src/transport/tls-files.js';
import { readTlsSnapshot, type ControllerTlsFiles, type TlsSnapshot } from '../../src/transport/tls-snapshot.js';
import { CertMaker } from '../helpers/certs.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-snapshot-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('clients');
const c1 = certs.makeCert('ca', 'c1', { peer: 'c1', days: 40 });
const c1Next = certs.makeCert('ca', 'c1-next', { peer: 'c1', days: 40 });
const caCrlWeek = fs.readFileSync(certs.crl('ca', { days: 8 }));
const clientsCrl = fs.readFileSync(certs.crl('clients'));

function files(over: Partial<ControllerTlsFiles> = {}): ControllerTlsFiles {
  return { ca: c1.ca, cert: c1.cert, key: c1.key, clientCa: null, agentCa: null, metrics: false, metricsClientCa: null, crl: null, ...over };
}

function write(name: string, ...parts: Buffer[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')])));
  return file;
}

function snapshot(f: ControllerTlsFiles, now?: number): TlsSnapshot {
  const r = readTlsSnapshot(f, 'c1', now === undefined ? {} : { now });
  if (!r.ok) throw new Error(r.problem.reason);
  return r.snapshot;
}

void t.test('each file is read once, and the snapshot holds the bytes the checks saw', async (t) => {
  const crl = write('crl-once.pem', caCrlWeek);
  const reads = new Map<string, number>();
  const r = readTlsSnapshot(files({ crl }), 'c1', {
    readFile: (f) => {
      reads.set(f, (reads.get(f) ?? 0) + 1);
      return fs.readFileSync(f);
    },
  });
  t.ok(r.ok, 'the files pass');
  t.same([...reads.values()], [1, 1, 1, 1], `one read per path: ${JSON.stringify([...reads])}`);
  t.ok(r.ok && r.snapshot.crl?.equals(fs.readFileSync(crl)) && r.snapshot.cert.equals(fs.readFileSync(c1.cert)), 'the bytes kept are the bytes read');
  t.equal(r.ok && r.snapshot.crls.length, 1);
});

void t.test('a reload is refused for what a start refuses, naming the key and the file', async (t) => {
  const corrupt = write('corrupt.crl', Buffer.from('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----'));
  const onlyClients = write('only-clients.crl', clientsCrl);
  const fifo = path.join(dir, 'fifo.crl');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const cases: ReadonlyArray<readonly [string, ControllerTlsFiles, string, string, RegExp]> = [
    ['a key of another certificate', files({ key: c1Next.key }), 'tls.key', c1Next.key, /does not match the certificate in tls.cert/],
    ['a CRL OpenSSL does not parse', files({ crl: corrupt }), 'tls.crl', corrupt, /not a usable certificate revocation list/],
    ['a CRL file without the controllers\' CA\'s CRL', files({ crl: onlyClients }), 'tls.crl', onlyClients, /holds no CRL from the CA CN=ca \(in tls.ca /],
    ['a missing certificate', files({ cert: path.join(dir, 'gone.crt') }), 'tls.cert', path.join(dir, 'gone.crt'), /cannot read it \(no such file\)/],
    ['a FIFO in the CRL\'s place (no writer: reading it would block the node)', files({ crl: fifo }), 'tls.crl', fifo, /cannot read it \(a FIFO \(named pipe\)\)/],
    ['a device in the CRL\'s place', files({ crl: '/dev/zero' }), 'tls.crl', '/dev/zero', /cannot read it \(a character device\)/],
  ];
  for (const [what, f, key, file, reason] of cases) {
    const r = readTlsSnapshot(f, 'c1');
    t.match(r, { ok: false, problem: { keyPath: key, file, reason } }, what);
  }
  t.match(readTlsSnapshot(files(), 'c2'), { ok: false, problem: { keyPath: 'tls.cert', reason: /expected this node's peer certificate/ } }, "another member's certificate");
});

void t.test('tlsChange names the files whose bytes changed, the new serial and the CRL count', async (t) => {
  const before = snapshot(files());
  const crl = write('crl-change.pem', caCrlWeek);
  const after = snapshot(files({ cert: c1Next.cert, key: c1Next.key, crl }));
  const change = tlsChange(before, after);
  t.same(change.changed, ['tls.cert', 'tls.key', 'tls.crl']);
  t.equal(change.cert.serial, after.certificate.serialNumber);
  t.equal(change.cert.previousSerial, before.certificate.serialNumber);
  t.not(change.cert.serial, change.cert.previousSerial);
  t.same(change.crls, { count: 1, previousCount: 0, earliestNextUpdate: new Date(after.crls[0]!.nextUpdate!).toISOString() });
  t.same(tlsChange(after, snapshot(files({ cert: c1Next.cert, key: c1Next.key, crl }))).changed, [], 'the same files again: nothing changed');
});

void t.test('nearEnd: under 24 h, or under a quarter of the validity', async (t) => {
  const from = 0;
  t.equal(nearEnd(from, 8 * DAY, 5 * DAY), false, 'a week-long CRL with 3 days left');
  t.equal(nearEnd(from, 8 * DAY, 6 * DAY + 1), true, 'under 2 days (a quarter of 8) left');
  t.equal(nearEnd(from, 40 * DAY, 20 * DAY), false, 'a 40-day certificate half way');
  t.equal(nearEnd(from, 40 * DAY, 30 * DAY + 1), true, 'under 10 days left');
  t.equal(nearEnd(from, 2 * HOUR, HOUR), true, 'anything with under 24 h left');
  t.equal(nearEnd(from, 400 * DAY, 400 * DAY - EXPIRY_FLOOR_MS - 1), true, 'a long one in its last quarter');
  t.equal(nearEnd(from, DAY, DAY + HOUR), true, 'passed');
});

void t.test("crlDeadlines: of each CA the latest nextUpdate counts; CRLs without one never expire", async (t) => {
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  const der = Buffer.alloc(0); // not read by the deadlines
  const crls: CrlSummary[] = [
    { der, issuer: a, thisUpdate: 0, nextUpdate: 5 * DAY },
    { der, issuer: a, thisUpdate: 1 * DAY, nextUpdate: 9 * DAY },
    { der, issuer: b, thisUpdate: 0, nextUpdate: 7 * DAY },
    { der, issuer: Buffer.from('c'), thisUpdate: 0, nextUpdate: null },
  ];
  t.same(
    crlDeadlines(crls).map((d) => [d.issuer.toString(), d.nextUpdate]),
    [
      ['b', 7 * DAY],
      ['a', 9 * DAY],
    ],
  );
  t.equal(earliestNextUpdate(crls), 7 * DAY, 'the stale CRL of a beside its current one does not count');
  t.equal(earliestNextUpdate([{ der, issuer: a, thisUpdate: 0, nextUpdate: null }]), null);
  t.equal(earliestNextUpdate([]), null);
});

void t.test('expiryWarnings: a CRL and the certificate near their end, each warned once', async (t) => {
  const crl = write('crl-expiry.pem', caCrlWeek);
  const s = snapshot(files({ crl }));
  const issued = s.crls[0]!.thisUpdate;
  const next = s.crls[0]!.nextUpdate!;
  const certFrom = Date.parse(s.certificate.validFrom);
  const certTo = Date.parse(s.certificate.validTo);
  t.same(expiryWarnings(s, issued + DAY), [], 'a day into a week-long CRL and a 40-day certificate: nothing');
  const crlNear = expiryWarnings(s, next - DAY - HOUR);
  t.match(crlNear[0], { code: 'CRL_EXPIRING', file: crl, what: 'the CRL of CN=ca', at: next, message: /nextUpdate .*in 25\.0 h.*CRL_HAS_EXPIRED/ }, 'under a quarter of 8 days left');
  t.equal(crlNear.length, 1, 'the certificate is not near yet');
  const certNear = expiryWarnings(s, certTo - 9 * DAY).filter((w) => w.code === 'CERT_EXPIRING');
  t.match(certNear, [{ file: c1.cert, at: certTo, message: /expires .*in 9\.0 days/ }], 'under a quarter of 40 days left');
  t.equal(certNear.length, 1);
  t.ok(certTo - certFrom > 39 * DAY);
  const passed = expiryWarnings(s, next + HOUR);
  t.match(passed[0], { code: 'CRL_EXPIRED', message: /passed at/ }, 'a nextUpdate already passed is said so');

  const once = new WarnedOnce();
  t.equal(once.fresh(expiryWarnings(s, next - HOUR)).length, 1, 'the first look warns');
  t.equal(once.fresh(expiryWarnings(s, next - 1)).length, 0, 'the same CRL later: not again');
  t.match(once.fresh(expiryWarnings(s, next)), [{ code: 'CRL_EXPIRED' }], 'once its nextUpdate has passed: once more, as expired');
  t.equal(once.fresh(expiryWarnings(s, next + HOUR)).length, 0, 'and not again');
  const fresher = snapshot(files({ crl: write('crl-expiry-2.pem', fs.readFileSync(certs.crl('ca', { days: 9 }))) }));
  t.equal(once.fresh(expiryWarnings(fresher, fresher.crls[0]!.nextUpdate! - HOUR)).length, 1, 'a new CRL from the same CA is an item of its own');
});

void t.test('retainedCaPem: a CA dropped from a role keeps counting for it, unless it moved to another client role', async (t) => {
  const ca = fs.readFileSync(c1.ca);
  const clients = fs.readFileSync(path.join(dir, 'clients.crt'));
  const subjects = (pem: Buffer): string[] => pemCertificates(pem).map((c) => c.subject);
  t.same(subjects(retainedCaPem(Buffer.concat([ca, clients]), ca, [])), ['CN=ca', 'CN=clients'], 'the dropped CA is kept after the current one');
  t.same(subjects(retainedCaPem(Buffer.concat([ca, clients]), ca, [clients])), ['CN=ca'], 'not when it is now a client CA');
  t.equal(retainedCaPem(ca, ca, [null]), ca, 'nothing dropped: the current bundle as it is');
});

void t.test('with an intermediate CA in its own chain, tls.crl needs that CA\'s CRL too: OpenSSL asks one of every CA of a chain', async (t) => {
  certs.makeIntermediate('ca', 'peers-int');
  const leaf = certs.makeCert('peers-int', 'c1-int', { peer: 'c1' });
  const chain = write('c1-int-chain.pem', fs.readFileSync(leaf.cert), fs.readFileSync(path.join(dir, 'peers-int.crt')));
  const rootOnly = write('crl-root-only.pem', caCrlWeek);
  const r = readTlsSnapshot(files({ cert: chain, key: leaf.key, crl: rootOnly }), 'c1');
  t.match(r, { ok: false, problem: { keyPath: 'tls.crl', reason: /holds no CRL from the CA CN=peers-int \(in tls\.cert .*c1-int-chain\.pem \(its chain\)\)/ } });
  const both = write('crl-root-int.pem', caCrlWeek, fs.readFileSync(certs.crl('peers-int')));
  t.equal(readTlsSnapshot(files({ cert: chain, key: leaf.key, crl: both }), 'c1').ok, true, 'with its CRL beside the root\'s');
});
