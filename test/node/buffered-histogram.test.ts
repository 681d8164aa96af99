/**
 * A BufferedHistogram's exposition is the one a prom-client histogram observing each value at
 * once gives: read before, between and after its buffer fills, and read twice in a row.
 */
import t from 'tap';
import client from 'prom-client';
import { BufferedHistogram } from '../../src/node/buffered-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function pair(): { buffered: BufferedHistogram; direct: client.Histogram; read: () => Promise<[string, string]> } {
  const a = new client.Registry();
  const b = new client.Registry();
  const buffered = new BufferedHistogram({ name: 'h_seconds', help: 'h', buckets: BUCKETS, registers: [a] });
  const direct = new client.Histogram({ name: 'h_seconds', help: 'h', buckets: BUCKETS, registers: [b] });
  return { buffered, direct, read: async () => [await a.metrics(), await b.metrics()] };
}

void t.test('reads give what observing at once gives, across reads and past the buffer', async (t) => {
  const { buffered, direct, read } = pair();
  const [empty, emptyDirect] = await read();
  t.equal(empty, emptyDirect, 'nothing observed');
  let x = 7;
  const next = (): number => {
    // A fixed sequence of values spread over the buckets (and past the last).
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 2;
  };
  for (const n of [1, 5, 1023, 1024, 1025, 3000]) {
    for (let i = 0; i < n; i++) {
      const v = next();
      buffered.observe(v);
      direct.observe(v);
    }
    const [got, want] = await read();
    t.equal(got, want, `after ${n} more`);
    const [again] = await read();
    t.equal(again, want, 'a second read adds nothing');
  }
  t.match((await read())[0], /h_seconds_count 6078/);
});

void t.test('a value that is no finite number is dropped, and the scrape still works', async (t) => {
  const { buffered, direct, read } = pair();
  buffered.observe(Number.NaN);
  buffered.observe(Number.POSITIVE_INFINITY);
  buffered.observe(0.5);
  direct.observe(0.5);
  const [got, want] = await read();
  t.equal(got, want);
});
