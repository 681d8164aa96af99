/**
 * A new ControllerClient connects afresh. grpc-js shares connections between channels of the
 * same address and options in one process, and a new channel whose shared connection sits in a
 * reconnect back-off (another client was refused there a moment ago) failed its first call at
 * once with "No connection established. Last error: null", the endpoint up all along: a test's
 * fresh client failed a put against a healthy cluster this way (cut-from-leader-view, in CI).
 */
import t, { type Test } from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { auditServer, freePort } from './audit-endpoint.js';

function client(t: Test, endpoint: string): ControllerClient {
  // A back-off far longer than the test: a client sharing the refused connection would fail.
  const c = new ControllerClient({ endpoints: [endpoint], timeoutMs: 10_000, connectTimeoutMs: 10_000 });
  t.teardown(() => c.close());
  return c;
}

void t.test('a client refused a moment ago does not make a new client of the same endpoint fail once it is up', async (t) => {
  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  const refused = await client(t, endpoint).audit({ sinceMs: 0, follow: false }, () => undefined).then(() => null, (e: unknown) => e);
  t.match(refused, { code: 'UNREACHABLE', message: /ECONNREFUSED|connection refused/i }, 'the first client is refused: nothing listens yet');

  await auditServer(t, port);
  const events: string[] = [];
  const fresh = await client(t, endpoint).audit({ sinceMs: 0, follow: false }, (e) => events.push(e.subject)).then(() => null, (e: unknown) => e);
  t.equal(fresh, null, `the new client's call is answered (${fresh instanceof Error ? fresh.message : 'no error'})`);
  t.same(events, ['c2']);
});
