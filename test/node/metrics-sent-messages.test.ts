/**
 * raft_messages_sent_total counts the messages handed to the transport by type. They are counted
 * in a plain map and added to the counter when it is read, not with a labelled inc per message:
 * every read shows each message once, however many reads come between.
 */
import t from 'tap';
import { Metrics } from '../../src/node/metrics.js';
import type { Message } from '../../src/raft/messages.js';

const sentOf = async (m: Metrics): Promise<Map<string, number>> => {
  const json = await m.registry.getSingleMetric('raft_messages_sent_total')!.get();
  return new Map(json.values.map((v) => [String(v.labels['type']), v.value]));
};

void t.test('every message is counted once by type, across reads', async (t) => {
  const metrics = new Metrics('c1');
  const msg = (type: string): Message => ({ type, from: 'c1', to: 'c2', term: 1 }) as unknown as Message;
  metrics.onSend([msg('Append'), msg('Append'), msg('Heartbeat')]);
  t.same(await sentOf(metrics), new Map([['Append', 2], ['Heartbeat', 1]]));
  t.same(await sentOf(metrics), new Map([['Append', 2], ['Heartbeat', 1]]), 'a second read adds nothing');
  metrics.onSend([msg('Append')]);
  metrics.onSend([msg('Vote')]);
  t.same(await sentOf(metrics), new Map([['Append', 3], ['Heartbeat', 1], ['Vote', 1]]));
  const text = await metrics.registry.metrics();
  t.match(text, /^raft_messages_sent_total\{type="Append",node="c1"\} 3$/m, 'the exposition shows the same count');
});
