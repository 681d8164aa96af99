/**
 * Revocations (src/transport/crl-revoked.ts): which certificates a set of CRLs revokes, named
 * as RFC 5280 names them (issuer and serial), for closing the connections a new tls.crl revokes.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Revocations } from '../../src/transport/crl-revoked.js';
import { pemCrls } from '../../src/transport/tls-files.js';
import { pemDer } from '../../src/transport/tls-snapshot.js';
import { CertMaker } from '../helpers/certs.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crl-revoked-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));

/** Two makers in two directories: their certificates' serials both start at 1. */
function maker(name: string): CertMaker {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return new CertMaker(dir);
}

const certOf = (file: string): X509Certificate => new X509Certificate(fs.readFileSync(file));
const crlDers = (file: string): Buffer[] => pemCrls(fs.readFileSync(file)).map(pemDer);

void t.test('a revoked serial of one CA; another of that CA, and the same serial of another CA, are not', async (t) => {
  const a = maker('a');
  a.makeCa('ca-a');
  const leaked = a.makeCert('ca-a', 'leaked');
  const kept = a.makeCert('ca-a', 'kept');
  const b = maker('b');
  b.makeCa('ca-b');
  const twin = b.makeCert('ca-b', 'twin');
  t.equal(certOf(twin.cert).serialNumber, certOf(leaked.cert).serialNumber, 'the same serial under two issuers');

  t.ok(new Revocations(crlDers(a.crl('ca-a'))).empty, 'a CRL with nothing revoked revokes nothing');
  a.revoke('ca-a', 'leaked');
  const revocations = new Revocations([...crlDers(a.crl('ca-a')), ...crlDers(b.crl('ca-b'))]);
  t.notOk(revocations.empty);
  t.ok(revocations.revokes(certOf(leaked.cert)), 'the revoked certificate');
  t.notOk(revocations.revokes(certOf(kept.cert)), 'another of its CA');
  t.notOk(revocations.revokes(certOf(twin.cert)), 'its serial under another issuer');
  t.ok(revocations.listsSerial(certOf(leaked.cert).serialNumber.toLowerCase()), 'the cheap look by serial finds it');
  t.notOk(revocations.listsSerial(certOf(kept.cert).serialNumber.toLowerCase()));
});

void t.test('an intermediate CA revoked by its root; a serial with its high bit set (a sign byte in DER)', async (t) => {
  const m = maker('chain');
  m.makeCa('root');
  m.makeIntermediate('root', 'issuing');
  m.revoke('root', 'issuing');
  t.ok(new Revocations(crlDers(m.crl('root'))).revokes(certOf(path.join(m.dir, 'issuing.crt'))), 'the intermediate');

  // 0xC8: DER writes 00 C8, Node's serialNumber C8.
  fs.writeFileSync(path.join(m.dir, 'high.cnf'), 'basicConstraints=CA:FALSE\n');
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: m.dir, stdio: 'pipe' });
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'high.key', '-out', 'high.csr', '-subj', '/CN=high');
  run('x509', '-req', '-in', 'high.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', '200', '-days', '1', '-extfile', 'high.cnf', '-out', 'high.crt');
  m.revoke('root', 'high');
  const revocations = new Revocations(crlDers(m.crl('root')));
  const high = certOf(path.join(m.dir, 'high.crt'));
  t.equal(high.serialNumber, 'C8');
  t.ok(revocations.revokes(high));
  t.ok(revocations.listsSerial('c8'), 'by Node serialNumber');
  t.ok(revocations.listsSerial('00c8'), 'and with the sign byte');
});

void t.test('a CRL whose DER does not parse is refused', async (t) => {
  t.throws(() => new Revocations([Buffer.from([0x30, 0x05, 0x30])]));
  t.throws(() => new Revocations([Buffer.from('30030201', 'hex')]));
});

void t.test('attack-34 H6: a CRL of 20,000 entries, read by offsets: every listed serial found, none other, and its issuer kept', async (t) => {
  const dir = path.join(root, 'many');
  fs.mkdirSync(dir);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=many-ca');
  // Serials of 1 to 4 bytes, half with the high bit set (DER adds a sign byte to those).
  const listed = Array.from({ length: 20_000 }, (_, i) => ((i * 2_654_435_761) >>> (8 * (i % 4))).toString(16).toUpperCase().padStart(2, '0'));
  const unique = [...new Set(listed.map((s) => (s.length % 2 === 1 ? `0${s}` : s)))];
  fs.writeFileSync(path.join(dir, 'index.txt'), unique.map((s, i) => `R\t301231000000Z\t261201000000Z\t${s}\tunknown\t/CN=op${i}\n`).join(''));
  fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), `[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n`);
  run('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'many.crl');
  const revocations = new Revocations(crlDers(path.join(dir, 'many.crl')));
  // Node's serialNumber has no leading zero bytes: as the certificates' would be read.
  const nodeForm = (s: string): string => s.toLowerCase().replace(/^(00)+(?=..)/, '');
  const missing = unique.filter((s) => !revocations.listsSerial(nodeForm(s)));
  t.same(missing, [], `all ${unique.length} listed serials found`);
  const listedSet = new Set(unique.map(nodeForm));
  const others = ['abcdef0123', 'fffffffff1', '7f7f7f7f7f'].filter((s) => !listedSet.has(s));
  t.same(others.filter((s) => revocations.listsSerial(s)), [], 'serials it does not list are not found');
  const ca = certOf(path.join(dir, 'ca.crt'));
  t.notOk(revocations.revokes(ca), 'the CA itself is not revoked by its own list');
});
