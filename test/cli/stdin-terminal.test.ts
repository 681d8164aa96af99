/** `ctl kv put K --file -` with nothing piped in says it waits for the value (attack-operator round 16: it waited in silence). */
import t from 'tap';
import { runCtl } from '../../src/cli/ctl/program.js';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { startFake } from './fake-controller.js';

async function put(stdinIsTerminal: boolean, address: string): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const io: CtlIo = {
    env: {},
    out: () => undefined,
    err: (line) => void err.push(line),
    now: () => 1_000_000,
    onInterrupt: () => () => undefined,
    read: () => Promise.resolve(Buffer.from('typed')),
    stdinIsTerminal,
  };
  return { code: await runCtl(['--endpoints', address, 'kv', 'put', 'k', '--file', '-'], io), err };
}

void t.test('stdin a terminal: one line on stderr says what it waits for; piped: nothing', async (t) => {
  const fake = await startFake({ unary: { Put: () => ({ revision: 3 }) } });
  t.teardown(() => fake.stop());
  t.strictSame(await put(true, fake.address), { code: 0, err: ['reading the value from the terminal until end of input (Ctrl-D); pipe it in or give --file FILE'] });
  t.strictSame(await put(false, fake.address), { code: 0, err: [] });
});
