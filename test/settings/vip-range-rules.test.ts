/**
 * services.vip_cidr refuses ranges a service address can never be in (loopback, multicast,
 * "this network", link-local, the limited broadcast) and octets with a leading zero, where an
 * operator chooses it; the default and 240.0.0.0/4 stay allowed; the log's value is taken as
 * committed, so a state that already holds such a range still loads.
 */
import t from 'tap';
import { SETTINGS, defaultSettings } from '../../src/settings/index.js';
import { parseIpv4Cidr, usableSpan } from '../../src/settings/ipv4-cidr.js';
import { vipRangeProblem } from '../../src/settings/vip-range-rules.js';

const codec = SETTINGS['services.vip_cidr'].codec;

function reasonOf(input: string): string {
  const r = codec.fromInput(input);
  return r.ok ? `accepted as ${r.value}` : r.reason;
}

void t.test('ranges of unusable addresses are refused, naming the range and why', async (t) => {
  const cases: [string, RegExp][] = [
    ['127.0.0.0/8', /^127\.0\.0\.0\/8 is 127\.0\.0\.0\/8, loopback: every agent host would answer the VIP itself; choose a range outside/],
    ['127.0.0.0/24', /^127\.0\.0\.0\/24 would hand out addresses of 127\.0\.0\.0\/8, loopback/],
    ['224.0.0.0/4', /is 224\.0\.0\.0\/4, multicast/],
    ['239.1.0.0/16', /would hand out addresses of 224\.0\.0\.0\/4, multicast/],
    ['0.0.0.0/8', /is 0\.0\.0\.0\/8, "this network"/],
    ['169.254.0.0/16', /is 169\.254\.0\.0\/16, link-local/],
    ['255.255.255.255/32', /is 255\.255\.255\.255\/32, the limited broadcast address/],
    ['255.255.255.254/31', /would hand out addresses of 255\.255\.255\.255\/32/],
    // Wide ranges overlapping a block would hand out its addresses too (0.0.0.1 first).
    ['0.0.0.0/1', /would hand out addresses of 0\.0\.0\.0\/8/],
    ['96.0.0.0/3', /would hand out addresses of 127\.0\.0\.0\/8/],
    ['128.0.0.0/1', /would hand out addresses of 169\.254\.0\.0\/16/],
  ];
  for (const [input, reason] of cases) t.match(reasonOf(input), reason, input);
});

void t.test('an octet with a leading zero is refused as ambiguous (inet_aton reads 010 as octal 8)', async (t) => {
  t.match(reasonOf('010.0.0.0/24'), /"010\.0\.0\.0\/24" has a part with a leading zero, which some tools read as octal \(010 is 8\)/);
  t.notOk(parseIpv4Cidr('10.00.0.0/16').ok, 'in any part');
  t.notOk(parseIpv4Cidr('10.0.0.00/24').ok, 'a lone zero written twice too');
  t.ok(parseIpv4Cidr('10.0.0.0/24').ok, 'a single 0 is a zero');
});

void t.test('the default, the rest of 240.0.0.0/4 and ordinary private ranges are accepted', async (t) => {
  const theDefault = defaultSettings({ electionTimeoutMs: 1_000 })['services.vip_cidr'];
  t.equal(theDefault, '241.0.0.0/8');
  for (const ok of [theDefault, '240.0.0.0/4', '255.255.255.0/24', '255.255.255.252/30', '10.96.0.0/16', '172.16.0.0/12', '192.168.7.0/24', '10.9.9.9/32', '32.0.0.0/3']) {
    t.equal(reasonOf(ok), `accepted as ${ok}`, ok);
  }
  // 240.0.0.0/4 ends at the limited broadcast address, but as the range's own broadcast address
  // it is never handed out.
  const wide = parseIpv4Cidr('240.0.0.0/4');
  if (!wide.ok) throw new Error(wide.reason);
  t.equal(usableSpan(wide.cidr).last, 0xfffffffe, 'the last address handed out is 255.255.255.254');
  t.equal(vipRangeProblem(wide.cidr), null);
});

void t.test('the log form takes a committed range whatever it is: replay of an older log must not fail', async (t) => {
  for (const committed of ['127.0.0.0/8', '255.255.255.255/32', '224.0.0.0/4', '0.0.0.0/1']) {
    t.equal(codec.fromJson(committed), committed, committed);
  }
});
