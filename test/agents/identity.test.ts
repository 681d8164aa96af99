/**
 * A stream's identity from its gRPC auth context, and whom it may speak for: without TLS any
 * agent id; with TLS only its certificate's CN, and nobody when the certificate has no CN.
 */
import type { Certificate } from 'node:tls';
import t from 'tap';
import { certificateStream, identityRefusal, PLAINTEXT_STREAM, streamIdentity } from '../../src/agents/identity.js';

function subject(fields: Partial<Certificate>): Certificate {
  return { C: '', ST: '', L: '', O: '', OU: '', CN: '', ...fields };
}

void t.test('streamIdentity reads TLS and the CN from the auth context', async (t) => {
  t.same(streamIdentity(null), PLAINTEXT_STREAM, 'no auth context: plaintext');
  t.same(streamIdentity({}), PLAINTEXT_STREAM, 'no transport security: plaintext');
  t.same(streamIdentity({ transportSecurityType: 'ssl', sslPeerCertificate: { subject: subject({ CN: 'edge-1' }) } }), certificateStream('edge-1'));
  t.same(streamIdentity({ transportSecurityType: 'ssl', sslPeerCertificate: { subject: { ...subject({}), CN: ['edge-1', 'edge-2'] as unknown as string } } }), certificateStream('edge-1'), 'two CNs (Node gives an array, though its type says string): the first, as the agent binary reads its own');
  t.same(streamIdentity({ transportSecurityType: 'ssl', sslPeerCertificate: { subject: subject({ O: 'acme' }) } }), certificateStream(null), 'TLS without a CN');
  t.same(streamIdentity({ transportSecurityType: 'ssl' }), certificateStream(null), 'TLS without a peer certificate');
});

void t.test('identityRefusal: plaintext speaks for anyone, a certificate for its CN only, a nameless one for nobody', async (t) => {
  t.equal(identityRefusal(PLAINTEXT_STREAM, 'edge-1'), null);
  t.equal(identityRefusal(certificateStream('edge-1'), 'edge-1'), null);
  t.match(identityRefusal(certificateStream('edge-2'), 'edge-1'), /"edge-2" cannot speak for agent "edge-1"/);
  t.match(identityRefusal(certificateStream(null), 'edge-1'), /no subject CN, so it names no agent/);
});
