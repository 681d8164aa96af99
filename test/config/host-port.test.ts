import t from 'tap';
import { isLoopbackHost } from '../../src/config/host-port.js';

void t.test('loopback hosts are told apart from addresses other machines can reach', async (t) => {
  for (const h of ['127.0.0.1', '127.8.9.1', 'localhost', '[::1]', 'LOCALHOST']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '10.0.0.11', '[::]', 'node1.example.com', '128.0.0.1']) t.notOk(isLoopbackHost(h), h);
});
