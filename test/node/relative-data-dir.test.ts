/**
 * A relative data_dir is said at start (a deployed member) and at a bootstrap
 * (src/node/relative-data-dir.ts): every member restarted from another working directory
 * bootstrapped a new, empty cluster that called itself healthy (attack-operator round 16).
 */
import t from 'tap';
import { nodeConfigFor, parseClusterConfig } from '../../src/config/load.js';
import { relativeBootstrapWarning, relativeDataDirWarning } from '../../src/node/relative-data-dir.js';

function config(dataDir: string, host: string) {
  const text = `cluster:\n  name: prod\n  nodes:\n    - { id: c1, address: "${host}:7101" }\n    - { id: c2, address: "${host}:7102" }\ncontroller:\n  data_dir: ${dataDir}\n`;
  return nodeConfigFor(parseClusterConfig(text, '/etc/controller/cluster.yaml'), 'c1', '/home/op');
}

void t.test('a deployed member with a relative data_dir is warned at every start, naming where this start put it', async (t) => {
  t.equal(
    relativeDataDirWarning(config('./data/${id}', '10.0.0.1'), () => '/home/op'),
    'controller.data_dir "./data/${id}" in /etc/controller/cluster.yaml is relative: this start uses /home/op/data/c1 (from the working directory /home/op); ' +
      'started from another directory, this node finds an empty data dir, and with every member restarted so they bootstrap a new, empty cluster. ' +
      'Write an absolute data_dir (e.g. /var/lib/controller/${id})',
  );
  t.equal(relativeDataDirWarning(config('./data/${id}', '127.0.0.1'), () => '/home/op'), null, 'a cluster on loopback (npm start): not at every start');
  t.equal(relativeDataDirWarning(config('/var/lib/controller/${id}', '10.0.0.1'), () => '/home/op'), null, 'absolute: nothing to say');
});

void t.test('a bootstrap from a relative data_dir says where the old data would be, on loopback too', async (t) => {
  t.match(
    relativeBootstrapWarning(config('./data/${id}', '127.0.0.1'), () => '/home/op'),
    /^controller\.data_dir "\.\/data\/\$\{id\}" in \/etc\/controller\/cluster\.yaml is relative: this start uses \/home\/op\/data\/c1 \(from the working directory \/home\/op\), and it was empty, so this node bootstrapped a new cluster\. If this cluster ran before, from another working directory, its data is in that directory: stop every member/,
  );
  t.equal(relativeBootstrapWarning(config('/var/lib/controller/${id}', '10.0.0.1'), () => '/home/op'), null);
});
