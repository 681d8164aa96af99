import t from 'tap';
import { isLoopbackHost, parseHostPort, sameAddress } from '../../src/config/host-port.js';

void t.test('loopback hosts are told apart from addresses other machines can reach', async (t) => {
  for (const h of ['127.0.0.1', '127.8.9.1', 'localhost', '[::1]', 'LOCALHOST']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '10.0.0.11', '[::]', 'node1.example.com', '128.0.0.1']) t.notOk(isLoopbackHost(h), h);
});

void t.test('one endpoint spelled two ways is one address; two endpoints are two', async (t) => {
  for (const [a, b] of [
    ['127.0.0.1:7101', 'localhost:7101'],
    ['LOCALHOST:7101', '[::1]:7101'],
    ['[0:0:0:0:0:0:0:1]:7101', '[::1]:7101'],
    ['[::ffff:10.0.0.1]:7101', '10.0.0.1:7101'],
    ['Node1.Example.com:7101', 'node1.example.com:7101'],
  ] as const) {
    t.ok(sameAddress(a, b), `${a} = ${b}`);
    t.ok(sameAddress(b, a), `${b} = ${a}`);
  }
  for (const [a, b] of [
    ['127.0.0.1:7101', '127.0.0.1:7102'],
    ['127.0.0.1:7101', '127.0.0.2:7101'],
    ['localhost:7101', '10.0.0.1:7101'],
    ['node1.example.com:7101', 'node2.example.com:7101'],
    ['[::1]:7101', '[::2]:7101'],
  ] as const) {
    t.notOk(sameAddress(a, b), `${a} != ${b}`);
  }
});

void t.test("addresses the resolver would read as another host are refused (inet_aton's short, hex and octal forms), and URLs are named as such", async (t) => {
  for (const [text, why] of [
    ['127.1:7101', /not four decimal octets: the resolver reads it as a number, so 127\.1 is 127\.0\.0\.1/],
    ['2130706433:7101', /not four decimal octets/],
    ['0x7f.0.0.1:7101', /not four decimal octets/],
    ['0x7f000001:7101', /not four decimal octets/],
    ['0177.0.0.1:7101', /not four decimal octets/],
    ['010.0.0.1:7101', /an IPv4 octet with a leading zero, which the resolver reads as octal/],
    ['10.0.0.01:7101', /leading zero/],
    ['http://127.0.0.1:7101', /a URL: leave out "http:\/\/" \(TLS comes from the tls settings or ctl's TLS flags, not a scheme\)/],
    ['https://node1.example.com:7101', /a URL: leave out "https:\/\/"/],
    // Review 61: a bracketed IPv6 address without its port was told "the port is not a number".
    ['[::1]', /found "\[::1\]" \(no port\)$/],
    ['[fe80::1]', /\(no port\)$/],
  ] as const) {
    const r = parseHostPort(text);
    t.match(r, { ok: false, reason: why }, text);
  }
  for (const text of ['10.0.0.1:7101', '0.0.0.0:7101', 'node-1.example.com:7101', 'a1.b2:7101', '[::1]:7101']) t.match(parseHostPort(text), { ok: true }, `${text} passes`);
});
