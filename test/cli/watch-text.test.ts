/** `ctl watch` as text: a key or value that would forge an event or drive the terminal is quoted, as `kv get --prefix` quotes it. */
import t from 'tap';
import { renderWatchEvent } from '../../src/cli/ctl/watch.js';

void t.test('plain keys and multi-line values print as etcdctl prints them', async (t) => {
  t.equal(renderWatchEvent({ type: 'PUT', key: 'a', value: Buffer.from('line 1\nline 2\tend'), revision: 3 }, 'text'), 'PUT\na\nline 1\nline 2\tend\n');
  t.equal(renderWatchEvent({ type: 'DELETE', key: 'a', value: new Uint8Array(), revision: 4 }, 'text'), 'DELETE\na\n');
});

void t.test('a key holding a newline or ESC, and a value holding ESC, are JSON-quoted so they cannot forge events or reach the terminal', async (t) => {
  const put = renderWatchEvent({ type: 'PUT', key: 'x\nDELETE\nconfig/prod', value: Buffer.from('red \u001b[31mtext'), revision: 5 }, 'text');
  t.equal(put, 'PUT\n"x\\nDELETE\\nconfig/prod"\n"red \\u001b[31mtext"\n');
  const del = renderWatchEvent({ type: 'DELETE', key: 'y\u001b[2J', value: new Uint8Array(), revision: 6 }, 'text');
  t.equal(del, 'DELETE\n"y\\u001b[2J"\n');
  t.notOk((put + del).includes('\u001b'), 'no escape byte printed');
  // C1's CSI (U+009B) acts as ESC [ on some terminals; JSON.stringify alone left it, and DEL, as they were.
  const c1 = renderWatchEvent({ type: 'PUT', key: 'z\u009b2J', value: Buffer.from('v\u007f\u0085'), revision: 7 }, 'text');
  t.equal(c1, 'PUT\n"z\\u009b2J"\n"v\\u007f\\u0085"\n');
});
