/** `ctl config get`: the table, and `-o wide`, which also says what each setting does. */
import t from 'tap';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { runCtl } from '../../src/cli/ctl/program.js';
import { SETTINGS } from '../../src/settings/index.js';
import { startFake } from './fake-controller.js';

async function ctl(argv: readonly string[]): Promise<{ code: number; out: string; err: string[] }> {
  let out = '';
  const err: string[] = [];
  const io: CtlIo = {
    env: {},
    out: (text) => void (out += text),
    err: (line) => void err.push(line),
    now: () => 1_000_000,
    onInterrupt: () => () => undefined,
  };
  const code = await runCtl(argv, io);
  return { code, out, err };
}

const minQuorum = SETTINGS['autopilot.min_quorum'];

void t.test('config get -o wide adds what each setting does; the plain table keeps its three columns', async (t) => {
  const fake = await startFake({
    unary: {
      ConfigGet: () => ({
        settings: [{ key: 'autopilot.min_quorum', value: '99', defaultValue: minQuorum.defaultText, help: minQuorum.help }],
        initialized: true,
        answeredBy: 'c1',
      }),
    },
  });
  t.teardown(() => fake.stop());
  const wide = await ctl(['--endpoints', fake.address, 'config', 'get', '-o', 'wide']);
  t.equal(wide.code, 0, wide.err.join('\n'));
  const [head, row] = wide.out.split('\n');
  t.match(head, /^KEY\s+VALUE\s+DEFAULT\s+WHAT$/);
  t.match(row, /^autopilot\.min_quorum\s+99\s+0\s+autopilot cleanup removes a dead voter only while/);
  const plain = await ctl(['--endpoints', fake.address, 'config', 'get']);
  t.match(plain.out.split('\n')[0], /^KEY\s+VALUE\s+DEFAULT$/);
});
