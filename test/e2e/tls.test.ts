/**
 * Mutual TLS between real processes: with `tls` configured, only holders of a certificate from
 * the cluster's CA can run ctl commands, and only controllers' peer certificates can take part
 * in Raft. A rogue process with another CA's certificate that claims a member's id never joins:
 * the members refuse its handshake.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster, CONTROLLER_JS } from '../helpers/process-cluster.js';
import { CertMaker } from '../helpers/certs.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';
import { spawn } from 'node:child_process';

void t.test('mutual TLS: clients and peers without a certificate from the cluster CA are refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('rogue-ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const nodeFiles = { ca: path.join(dir, 'cluster-ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` };
  const operator = certs.makeCert('cluster-ca', 'operator');
  const rogue = certs.makeCert('rogue-ca', 'rogue', { peer: 'c3' });

  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', tls: nodeFiles, clientTls: operator });
  t.teardown(() => cluster.stop());
  const [c1, c2, c3] = cluster.ids as [string, string, string];
  cluster.start(c1);
  cluster.start(c2);
  await cluster.waitForLeader([c1, c2]);

  // Just elected by two members, the cluster refuses a write (NO_QUORUM, exit 1) while one of
  // them resumes from a stall of a loaded host: asked again until then; a TLS refusal is exit 3.
  let ok = { code: -1, stdout: '', stderr: '' };
  await waitFor(async () => {
    ok = await cluster.ctl(['kv', 'put', 'k', 'v'], cluster.endpoints([c1, c2]), 20000, { CTL_TLS_CERT: operator.cert, CTL_TLS_KEY: operator.key });
    return ok.code !== 1 || !/cut off from a quorum|NO_QUORUM/.test(ok.stderr);
  }, 'the put to be answered other than NO_QUORUM', 20000);
  t.equal(ok.code, 0, `an operator certificate from the cluster CA works: ${ok.stderr}`);

  const noCert = await cluster.ctl(['kv', 'get', 'k'], cluster.endpoints([c1]), 20000, { CTL_TLS_CERT: '', CTL_TLS_KEY: '' });
  t.not(noCert.code, 0, 'ctl with the CA but no client certificate is refused');
  t.equal(noCert.stdout, '', 'and learns nothing');
  const noTls = await cluster.ctl(['status'], cluster.endpoints([c1]), 20000, { CTL_TLS_CA: '', CTL_TLS_CERT: '', CTL_TLS_KEY: '' });
  t.not(noTls.code, 0, 'ctl without TLS is refused');
  const wrongCa = await cluster.ctl(['status'], cluster.endpoints([c1]), 20000, { CTL_TLS_CA: nodeFiles.ca, CTL_TLS_CERT: rogue.cert, CTL_TLS_KEY: rogue.key });
  t.not(wrongCa.code, 0, 'ctl with a certificate from another CA is refused');
  for (const r of [noCert, noTls, wrongCa]) t.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr: ${r.stderr.trim()}`);

  // A member's key is an operator's while the member is one: c1's own, through c2 (forwarded to
  // the leader with c2's). The key of an id that is no member (never added, or removed) is not.
  const asMember = await cluster.ctl(['kv', 'put', 'by-member', 'v'], cluster.endpoints([c2]), 20000, { CTL_TLS_CERT: path.join(dir, 'c1.crt'), CTL_TLS_KEY: path.join(dir, 'c1.key') });
  t.equal(asMember.code, 0, `a member's peer certificate: ${asMember.stderr}`);
  const stranger = certs.makeCert('cluster-ca', 'c9', { peer: 'c9' });
  const asStranger = await cluster.ctl(['kv', 'put', 'by-stranger', 'v'], cluster.endpoints([c1]), 20000, { CTL_TLS_CERT: stranger.cert, CTL_TLS_KEY: stranger.key });
  t.equal(asStranger.code, 1, 'the peer certificate of an id that is no member is refused');
  t.match(asStranger.stderr, /NOT_A_MEMBER: the caller's certificate is the peer certificate of "c9", which is not a member of this cluster/);

  // A rogue process claims to be c3, with a certificate from its own CA (which it trusts).
  const rogueConfig = path.join(dir, 'rogue.yaml');
  fs.writeFileSync(
    rogueConfig,
    fs
      .readFileSync(cluster.configFile, 'utf8')
      .replace(`ca: ${nodeFiles.ca}`, `ca: ${rogue.ca}`)
      .replace(`cert: ${nodeFiles.cert}`, `cert: ${rogue.cert}`)
      .replace(`key: ${nodeFiles.key}`, `key: ${rogue.key}`)
      .replace(/data_dir: .*/, `data_dir: ${dir}/rogue-data/\${id}`),
  );
  const cmd = nodeCommand(CONTROLLER_JS, ['--config', rogueConfig, '--id', c3]);
  const impostor = spawn(cmd.command, cmd.args, { stdio: 'ignore' });
  guardChild(impostor);
  t.teardown(() => {
    impostor.kill('SIGKILL');
  });
  const client = cluster.client([c1, c2]);
  t.teardown(() => client.close());
  // The members never hear from "c3": it stays unknown, never online (nobody has heard from it).
  await waitFor(
    async () => {
      const v = await client.listControllersOn(cluster.addresses.get(c1)!).catch(() => null);
      const row = v?.controllers.find((c) => c.id === c3);
      return row !== undefined && row.clusterState === 'unknown' && row.localState === 'unknown' && !row.online && row.lastContactMs === null;
    },
    `${c3} (an impostor) to be listed as unknown`,
    20000,
  );
  t.ok(impostor.exitCode === null, 'the impostor is still running, trying');
  const st = await client.status();
  t.ok([c1, c2].includes(st.leader), `the real members keep their leader (${st.leader}); the impostor could not disrupt it`);
  const members = (await client.listControllers()).controllers.filter((c) => c.online).map((c) => c.id);
  t.same(members.sort(), [c1, c2].sort(), 'only the real members are online');
});
