/** Operator round 17: a data_dir without ${id} shared by members of one host (src/config/shared-data-dir.ts). */
import t from 'tap';
import { sharedDataDirWarning } from '../../src/config/shared-data-dir.js';

const node = (id: string, address: string) => ({ id, address, listen: address });
const local = [node('s1', '127.0.0.1:7101'), node('s2', 'localhost:7102'), node('s3', '10.0.0.3:7101')];

function config(dataDirTemplate: string, self = local[0]!, nodes = local) {
  return { file: '/etc/c.yaml', dataDirTemplate, dataDir: dataDirTemplate.replace('${id}', self.id), nodes, self };
}

void t.test('members of one host started from a file whose data_dir has no ${id} are named, with the fix', async (t) => {
  t.equal(
    sharedDataDirWarning(config('/var/lib/ctl/')),
    'controller.data_dir "/var/lib/ctl/" in /etc/c.yaml has no ${id}, and s1, s2 have addresses on one host: started there from this file, they all open /var/lib/ctl/, ' +
      'and only the first runs (the others stop: another controller process holds this data dir). Give each member its own directory, e.g. data_dir: "/var/lib/ctl/${id}"',
  );
});

void t.test('a relative data_dir is shared only by members started from one working directory, and the warning says so', async (t) => {
  t.match(sharedDataDirWarning(config('data')), /^controller\.data_dir "data" in \/etc\/c\.yaml has no \$\{id\}, and s1, s2 have addresses on one host: started there from this file and one working directory, they all open data,/);
});

void t.test('a data_dir with ${id}, or members each on a host of its own, say nothing', async (t) => {
  t.equal(sharedDataDirWarning(config('/var/lib/ctl/${id}')), null);
  t.equal(sharedDataDirWarning(config('/var/lib/ctl', local[2]!)), null, 's3 has its host to itself');
  const hosts = [node('c1', '10.0.0.1:7101'), node('c2', '10.0.0.2:7101')];
  t.equal(sharedDataDirWarning(config('/var/lib/controller', hosts[0]!, hosts)), null, "deploy.md's layout");
});
