/**
 * attack-37b B4: the streaming calls (audit, snapshot save) skip an endpoint that refuses the
 * connection at once, naming the refusal, as unary calls do; they used to wait the whole timeout
 * for it and report "could not connect to X within 5000ms".
 */
import t, { type Test } from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { OperatorClient } from '../../src/api/operator-client.js';
import { auditServer, freePort } from './audit-endpoint.js';

/** Long enough that waiting it out for a refused endpoint would fail the test's own timeout. */
const TIMEOUT_MS = 30_000;

/** An address nothing listens on. */
const closedPort = async (): Promise<string> => `127.0.0.1:${await freePort()}`;

function client(t: Test, endpoints: string[]): ControllerClient {
  const c = new ControllerClient({ endpoints, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS });
  t.teardown(() => c.close());
  return c;
}

const REFUSED = /ECONNREFUSED|connection refused/i;

void t.test('an audit listing against refused endpoints fails naming the refusal of each, not a connect timeout', async (t) => {
  const [a, b] = [await closedPort(), await closedPort()];
  const err = await client(t, [a, b]).audit({ sinceMs: 0, follow: false }, () => undefined).then(() => null, (e: unknown) => e);
  t.match(err, { code: 'UNREACHABLE' });
  const message = err instanceof Error ? err.message : '';
  t.notMatch(message, /could not connect .* within/, 'no connect timeout was waited for');
  const tried = message.slice(message.indexOf('tried '));
  t.match(tried, new RegExp(`${a} \\([^)]*(ECONNREFUSED|connection refused)`, 'i'), 'the first endpoint is named with its refusal');
  t.match(tried, new RegExp(`${b} \\([^)]*(ECONNREFUSED|connection refused)`, 'i'), 'the second too');
});

void t.test('a snapshot save against a refused endpoint fails naming the refusal', async (t) => {
  const err = await new OperatorClient(client(t, [await closedPort()])).snapshot().then(() => null, (e: unknown) => e);
  t.match(err, { code: 'UNREACHABLE', message: REFUSED });
  t.notMatch(err instanceof Error ? err.message : '', /within \d+ms/);
});

void t.test('a refused endpoint first and a live one second: the audit comes from the live one', async (t) => {
  // Far below the timeout a refused endpoint used to cost, far above what skipping it takes.
  t.setTimeout(TIMEOUT_MS / 2);
  const events: string[] = [];
  await client(t, [await closedPort(), await auditServer(t)]).audit({ sinceMs: 0, follow: false }, (e) => events.push(e.subject));
  t.same(events, ['c2']);
});
