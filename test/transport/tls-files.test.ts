/**
 * tlsFileProblem names the first unusable TLS file and why: unreadable, not PEM, an encrypted
 * key, or a key that is not the certificate's. Usable files, CA bundles included, pass.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { describeTlsFileProblem, tlsFileProblem } from '../../src/transport/tls-files.js';
import { CertMaker } from '../helpers/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-files-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
const a = certs.makeCert('ca', 'a');
const b = certs.makeCert('ca', 'b');
const garbage = path.join(dir, 'garbage.pem');
fs.writeFileSync(garbage, 'garbage\n');
const flag = (role: string): string => `--tls-${role}`;

void t.test('usable files, and a CA bundle of several certificates, have no problem', async (t) => {
  t.equal(tlsFileProblem(a), null);
  const bundle = path.join(dir, 'bundle.crt');
  fs.writeFileSync(bundle, Buffer.concat([fs.readFileSync(a.ca), fs.readFileSync(a.cert)]));
  t.equal(tlsFileProblem({ ca: bundle, clientCa: a.ca }), null);
  t.equal(tlsFileProblem({}), null, 'nothing given, nothing to check');
});

void t.test('each unusable file is named with its role and cause', async (t) => {
  const cases: ReadonlyArray<readonly [string, Parameters<typeof tlsFileProblem>[0], string]> = [
    ['garbage certificate', { ...a, cert: garbage }, `--tls-cert ${garbage}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`],
    ['garbage key', { ...a, key: garbage }, `--tls-key ${garbage}: not a PEM private key`],
    ['a certificate as the key', { ...a, key: a.cert }, `--tls-key ${a.cert}: not a PEM private key`],
    ['garbage CA', { ...a, ca: garbage }, `--tls-ca ${garbage}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`],
    ['missing CA', { ca: path.join(dir, 'nope.crt') }, `--tls-ca ${path.join(dir, 'nope.crt')}: cannot read it (no such file)`],
    ['a directory', { ...a, cert: dir }, `--tls-cert ${dir}: cannot read it (a directory)`],
    ['a key of another certificate', { ...a, key: b.key }, `--tls-key ${b.key} does not match the certificate in --tls-cert ${a.cert}`],
  ];
  for (const [what, files, message] of cases) {
    const problem = tlsFileProblem(files);
    t.not(problem, null, what);
    if (problem !== null) t.equal(describeTlsFileProblem(problem, flag), message, what);
  }
  const broken = path.join(dir, 'broken.crt');
  fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  t.match(tlsFileProblem({ ca: broken }), { kind: 'file', role: 'ca', reason: /a certificate block does not parse/ });
});

void t.test('an encrypted key is named as such', async (t) => {
  const encrypted = path.join(dir, 'encrypted.key');
  execFileSync('openssl', ['pkey', '-in', a.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted], { stdio: 'pipe' });
  t.match(tlsFileProblem({ ...a, key: encrypted }), { kind: 'file', role: 'key', reason: /encrypted private key/ });
});
