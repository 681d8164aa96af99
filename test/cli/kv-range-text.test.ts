/** `ctl kv get PREFIX --prefix` as text: a key or value that would forge rows or drive the terminal is quoted. */
import t from 'tap';
import { renderRange } from '../../src/cli/ctl/kv-range.js';

const answer = (kvs: readonly [string, string][]) => ({ kvs: kvs.map(([key, value], i) => ({ key, value: Buffer.from(value), revision: i + 1 })), more: false, revision: 9, answeredBy: 'c1' });

void t.test('plain keys and multi-line values print as etcdctl prints them', async (t) => {
  t.equal(renderRange(answer([['a', 'one'], ['b', 'line 1\nline 2\tend']]), 'text'), 'a\none\nb\nline 1\nline 2\tend\n');
});

void t.test('a key holding a newline or ESC, and a value holding ESC, are JSON-quoted so they cannot forge rows or reach the terminal', async (t) => {
  const text = renderRange(answer([['x\nmy-secret-key\nforged', 'real'], ['y\u001b[2J', 'v'], ['z', 'red \u001b[31mtext']]), 'text');
  t.equal(text, '"x\\nmy-secret-key\\nforged"\nreal\n"y\\u001b[2J"\nv\nz\n"red \\u001b[31mtext"\n');
  t.equal(text.split('\n').length - 1, 6, 'two lines per key, whatever the key holds');
  t.notOk(text.includes('\u001b'), 'no escape byte printed');
});
