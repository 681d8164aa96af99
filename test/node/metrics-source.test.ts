/** metricsSource: what one client can hold many of counts as one source. */
import t from 'tap';
import { LOOPBACK_SOURCE, metricsSource } from '../../src/node/metrics-source.js';

void t.test('loopback, v4 and v6, is one source', async (t) => {
  for (const a of ['127.0.0.1', '127.0.0.2', '127.255.3.9', '::1', '::ffff:127.0.0.5', '0:0:0:0:0:0:0:1', '::ffff:7f00:2']) t.equal(metricsSource(a), LOOPBACK_SOURCE, a);
});

void t.test('IPv4 counts by address; IPv4-mapped IPv6 as its IPv4', async (t) => {
  t.equal(metricsSource('10.0.0.7'), '10.0.0.7');
  t.equal(metricsSource('::ffff:10.0.0.7'), '10.0.0.7');
  t.equal(metricsSource('::FFFF:0a00:0007'), '10.0.0.7');
  t.not(metricsSource('10.0.0.7'), metricsSource('10.0.0.8'));
});

void t.test('IPv6 counts by its /64', async (t) => {
  const one = metricsSource('2001:db8:1:2::1');
  t.equal(one, '2001:db8:1:2::/64');
  for (const a of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:DB8:1:2::abcd', '2001:db8:1:2:0:0:1.2.3.4']) t.equal(metricsSource(a), one, a);
  t.not(metricsSource('2001:db8:1:3::1'), one, 'the next /64 is another source');
  t.equal(metricsSource('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone is dropped');
  t.equal(metricsSource('2001:db8::'), '2001:db8:0:0::/64');
});

void t.test('no address (a socket already closed) is a source of its own', async (t) => {
  t.equal(metricsSource(undefined), '');
  t.equal(metricsSource(''), '');
});
