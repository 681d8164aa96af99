import t from 'tap';
import { isLoopbackHost, sameAddress } from '../../src/config/host-port.js';

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
    ['010.000.000.001:7101', '10.0.0.1:7101'],
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
