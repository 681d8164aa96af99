/** Which addresses a reloaded file would bind anew at the next restart: only those worth probing. */
import t from 'tap';
import { nodeConfigFor, parseClusterConfig } from '../../src/config/load.js';
import { newBinds } from '../../src/cli/reload-listen-check.js';

const config = (c1: string) =>
  nodeConfigFor(parseClusterConfig(`cluster:\n  nodes:\n    - { id: c1, address: "127.0.0.1:7101"${c1} }\n    - { id: c2, address: "127.0.0.1:7102" }\ncontroller:\n  data_dir: /var/lib/c/\${id}\n`, '/etc/c.yaml'), 'c1');

void t.test('the gRPC and metrics addresses that change are probed; the ones this controller holds are not', async (t) => {
  const running = config(', metrics: "127.0.0.1:9101"');
  t.same(newBinds(running, running), [], 'nothing changed');
  t.same(newBinds(running, config(', metrics: "localhost:9101"')), [], 'the same metrics address spelled another way');
  t.same(newBinds(running, config(', listen: "127.0.0.1:7191", metrics: "127.0.0.1:9101"')), [['gRPC', '127.0.0.1:7191']]);
  t.same(newBinds(running, config(', metrics: "127.0.0.1:9191"')), [['metrics', '127.0.0.1:9191']]);
  t.same(newBinds(config(''), config(', metrics: "127.0.0.1:9101"')), [['metrics', '127.0.0.1:9101']], 'a metrics endpoint added');
  t.same(newBinds(running, config('')), [], 'one removed binds nothing');
});

void t.test("a port this controller holds is not probed on another host: the probe would meet this controller's own socket", async (t) => {
  const running = config(', listen: "0.0.0.0:7101", metrics: "127.0.0.1:9101"');
  t.same(newBinds(running, config(', listen: "127.0.0.1:7101", metrics: "127.0.0.1:9101"')), [], 'listen narrowed from every interface to one');
  t.same(newBinds(running, config(', listen: "127.0.0.1:9101", metrics: "127.0.0.1:7101"')), [], 'gRPC and metrics ports swapped');
  t.same(newBinds(running, config(', listen: "0.0.0.0:7101", metrics: "0.0.0.0:9191"')), [['metrics', '0.0.0.0:9191']], 'a new port is still probed');
});
