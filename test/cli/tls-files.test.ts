/**
 * Bad TLS files given to the binaries end in one clear line naming the flag (or config key),
 * the file and the cause, never OpenSSL's "error:0480006C:PEM routines::no start line": `ctl`
 * exits 3 (the contract's code for a TLS failure), the agent and the controller exit 2 (their
 * config errors), the controller without a stack trace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AGENT_JS } from '../agents/agent-procs.js';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { CONTROLLER_JS, CTL_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-files-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
const node = certs.makeCert('ca', 'c1', { peer: 'c1' });
const other = certs.makeCert('ca', 'other', { peer: 'c1' });
const expired = certs.makeCert('ca', 'expired', { days: -1 });
const bad = path.join(dir, 'bad.pem');
fs.writeFileSync(bad, 'garbage\n');
certs.makeCa('agents');
// An agent CA bundle that also carries the controllers' CA: every controller certificate would count as an agent's.
const bundle = path.join(dir, 'bundle.pem');
fs.writeFileSync(bundle, fs.readFileSync(path.join(dir, 'agents.crt'), 'latin1') + fs.readFileSync(node.ca, 'latin1'));
// tls.crl: a CRL from the controllers' CA, a stale one, and one from the agents' CA only.
const caCrl = certs.crl('ca');
const staleCrl = certs.crl('ca', { expired: true });
const agentsCrl = certs.crl('agents');
const env = { PATH: process.env['PATH'] ?? '' };

function lines(stderr: string): number {
  return stderr.trim().split('\n').length;
}

void t.test('ctl: a bad --tls-cert, --tls-key or --tls-ca exits 3 naming TLS, the flag, the file and the cause', async (t) => {
  const [port] = await freePorts(1);
  const endpoints = ['--endpoints', `127.0.0.1:${port}`];
  const cases: ReadonlyArray<readonly [string, readonly string[], string]> = [
    ['garbage cert and key', ['--tls-ca', node.ca, '--tls-cert', bad, '--tls-key', bad], `ctl: TLS: --tls-cert ${bad}: not a PEM certificate`],
    ['garbage key', ['--tls-ca', node.ca, '--tls-cert', node.cert, '--tls-key', bad], `ctl: TLS: --tls-key ${bad}: not a PEM private key`],
    ['mismatched pair', ['--tls-ca', node.ca, '--tls-cert', node.cert, '--tls-key', other.key], `ctl: TLS: --tls-key ${other.key} does not match the certificate in --tls-cert ${node.cert}`],
    ['garbage CA', ['--tls-ca', bad], `ctl: TLS: --tls-ca ${bad}: not a PEM certificate`],
    ['missing CA', ['--tls-ca', '/nonexistent'], 'ctl: TLS: --tls-ca /nonexistent: cannot read it (no such file)'],
    ['expired cert', ['--tls-ca', node.ca, '--tls-cert', expired.cert, '--tls-key', expired.key], `ctl: TLS: --tls-cert ${expired.cert}: the certificate expired on `],
  ];
  for (const [what, flags, message] of cases) {
    const run = await runToExit(CTL_JS, [...endpoints, ...flags, 'kv', 'get', 'a'], `ctl (${what})`, 20_000, env);
    t.equal(run.code, 3, `${what}: exit 3`);
    t.equal(lines(run.stderr), 1, `${what}: one line`);
    t.ok(run.stderr.startsWith(message), `${what}: ${run.stderr.trim()}`);
    // A wrong clock makes a valid certificate look expired: the message names the clock too.
    if (what === 'expired cert') t.match(run.stderr, /; this host's clock reads \d{4}-\d\d-\d\dT[^ ]+Z: if that is wrong, set the clock rather than the certificate/);
  }
  const fromEnv = await runToExit(CTL_JS, [...endpoints, 'kv', 'get', 'a'], 'ctl ($CTL_TLS_CA)', 20_000, { ...env, CTL_TLS_CA: bad });
  t.equal(fromEnv.code, 3);
  t.match(fromEnv.stderr, `ctl: TLS: $CTL_TLS_CA ${bad}: not a PEM certificate`, 'a file from the environment is named by its variable');
});

void t.test('agent: a bad TLS file exits 2 naming the flag, the file and the cause', async (t) => {
  const [port] = await freePorts(1);
  const run = await runToExit(AGENT_JS, ['--controllers', `127.0.0.1:${port}`, '--tls-ca', node.ca, '--tls-cert', bad, '--tls-key', bad], 'agent', 20_000, env);
  t.equal(run.code, 2);
  t.equal(lines(run.stderr), 1, 'one line');
  t.match(run.stderr, `agent: TLS: --tls-cert ${bad}: not a PEM certificate`);
  const mismatch = await runToExit(AGENT_JS, ['--controllers', `127.0.0.1:${port}`, '--tls-ca', node.ca, '--tls-cert', node.cert, '--tls-key', other.key], 'agent', 20_000, env);
  t.equal(mismatch.code, 2);
  t.match(mismatch.stderr, `agent: TLS: --tls-key ${other.key} does not match the certificate in --tls-cert ${node.cert}`);
  const late = await runToExit(AGENT_JS, ['--controllers', `127.0.0.1:${port}`, '--tls-ca', node.ca, '--tls-cert', expired.cert, '--tls-key', expired.key], 'agent', 20_000, env);
  t.equal(late.code, 2, 'an expired certificate: exit 2 at start, not retries that never name the cause');
  t.match(late.stderr, `agent: TLS: --tls-cert ${expired.cert}: the certificate expired on `);
  const badCrl = await runToExit(AGENT_JS, ['--controllers', `127.0.0.1:${port}`, '--tls-ca', node.ca, '--tls-cert', node.cert, '--tls-key', node.key, '--tls-crl', bad], 'agent', 20_000, env);
  t.equal(badCrl.code, 2);
  t.match(badCrl.stderr, `agent: TLS: --tls-crl ${bad}: not a PEM certificate revocation list`);
  const uncovered = await runToExit(AGENT_JS, ['--controllers', `127.0.0.1:${port}`, '--tls-ca', node.ca, '--tls-cert', node.cert, '--tls-key', node.key], 'agent', 20_000, { ...env, AGENT_TLS_CRL: agentsCrl });
  t.equal(uncovered.code, 2, 'a CRL file without the controllers\' CA: exit 2 at start');
  t.match(uncovered.stderr, `agent: TLS: $AGENT_TLS_CRL ${agentsCrl}: holds no CRL of the CA CN=ca of --tls-ca ${node.ca}; OpenSSL would refuse every certificate it signs`);
});

void t.test('controller: a bad tls.* file exits 2 naming the config key and the file, without a stack trace', async (t) => {
  const [port] = await freePorts(1);
  let files = 0;
  const config = (tls: string): string => {
    const file = path.join(dir, `cluster-${++files}.yaml`);
    fs.writeFileSync(file, `cluster:\n  nodes:\n    - { id: c1, address: "127.0.0.1:${port}" }\ncontroller:\n  data_dir: ${dir}/data/\${id}\n${tls}`);
    return file;
  };
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['garbage key', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${bad} }\n`, /: tls\.key: .*bad\.pem: not a PEM private key$/],
    ['garbage CA', `tls: { ca: ${bad}, cert: ${node.cert}, key: ${node.key} }\n`, /: tls\.ca: .*bad\.pem: not a PEM certificate/],
    ['garbage client CA', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, client_ca: ${bad} }\n`, /: tls\.client_ca: .*bad\.pem: not a PEM certificate/],
    ['mismatched pair', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${other.key} }\n`, /: tls\.key: .*other\.key does not match the certificate in tls\.cert .*c1\.crt$/],
    ['garbage agent CA', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, agent_ca: ${bad} }\n`, /: tls\.agent_ca: .*bad\.pem: not a PEM certificate/],
    ['garbage metrics client CA', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, metrics: true, metrics_client_ca: ${bad} }\n`, /: tls\.metrics_client_ca: .*bad\.pem: not a PEM certificate/],
    ['garbage CRL', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, crl: ${bad} }\n`, /: tls\.crl: .*bad\.pem: not a PEM certificate revocation list \(no -----BEGIN X509 CRL----- block\)$/],
    ['a certificate as the CRL', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, crl: ${node.ca} }\n`, /: tls\.crl: .*ca\.crt: holds a -----BEGIN CERTIFICATE----- block; it takes PEM certificate revocation lists/],
    ['a missing CRL', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, crl: ${dir}/nope.crl }\n`, /: tls\.crl: .*nope\.crl: cannot read it \(no such file\)$/],
    [
      'a CRL file without the controllers\' CA\'s CRL',
      `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, crl: ${agentsCrl} }\n`,
      /: tls\.crl: .*agents\.crl holds no CRL from the CA CN=ca \(in tls\.ca .*ca\.crt\): OpenSSL would refuse every certificate it signs/,
    ],
    [
      'a CRL file without the agent CA\'s CRL',
      `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, agent_ca: ${dir}/agents.crt, crl: ${caCrl} }\n`,
      /: tls\.crl: .*ca\.crl holds no CRL from the CA CN=agents \(in tls\.agent_ca .*agents\.crt\)/,
    ],
    ['a CRL past its nextUpdate', `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, crl: ${staleCrl} }\n`, /: tls\.crl: .*ca\.expired\.crl: the CRL from the CA CN=ca \(in tls\.ca .*\) is past its nextUpdate, 20\d\d-.*issue a fresh CRL$/],
    [
      'agent CA shared with the controllers',
      `tls: { ca: ${node.ca}, cert: ${node.cert}, key: ${node.key}, agent_ca: ${bundle} }\n`,
      /: tls\.agent_ca: .*bundle\.pem holds the CA certificate CN=ca that tls\.ca holds too; the agent CA must be a CA of its own/,
    ],
  ];
  for (const [what, tls, pattern] of cases) {
    const run = await runToExit(CONTROLLER_JS, ['--config', config(tls), '--id', 'c1'], `controller (${what})`, 20_000, env);
    t.equal(run.code, 2, `${what}: exit 2`);
    t.equal(lines(run.stderr), 1, `${what}: one line`);
    t.match(run.stderr.trim(), pattern, what);
    t.notMatch(run.stdout, /"stack"/, `${what}: no stack trace in the log`);
    t.notOk(fs.existsSync(path.join(dir, 'data', 'c1')), `${what}: nothing written to data_dir`);
  }
});
