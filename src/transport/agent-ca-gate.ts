/**
 * With `tls.agent_ca`, agents and operators are told apart by the CA that signed their
 * certificate, as the peer check tells members apart by theirs: a certificate the agent CA
 * issued opens agent streams (AgentSync) and nothing else, so an agent's stolen key cannot
 * remove a member, change a setting or write a key; and an agent stream needs such a
 * certificate, so nothing else (an operator's tool, a service's certificate from the client CA)
 * can act as an agent. Health checks stay open to all. Without `tls.agent_ca` there is no gate:
 * any client certificate may do both, as before.
 *
 * One check at the server's door (door-gate.ts), not one per handler, so a service added later
 * is closed to agents' certificates by default.
 */
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { subjectText } from './cert-subject.js';
import { doorGate, GATE_FAILED, OPEN_TO_ALL, type DoorRefusal } from './door-gate.js';
import { peerChains, type PeerChain } from './peer-chain.js';
import { pemCertificates } from './tls-files.js';

/** The one call an agent's certificate may make. */
export const AGENT_STREAM_METHOD = '/controller.agents.AgentSync/Sync';

/** Whether `cert` was signed directly by one of `cas` (its issuers above are checked in turn). */
function issuedByAny(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/**
 * Why the gate refuses a call: an agent's certificate off its stream, another on it, a chain
 * whose links do not verify (its certificates cannot be told apart), or a caller it could not judge.
 */
export type AgentGateCode = 'AGENT_CERTIFICATE' | 'NOT_AN_AGENT' | 'UNVERIFIED_CHAIN' | typeof GATE_FAILED;

export interface AgentCaGate {
  /**
   * Null when the caller presenting `certRaw` (DER; null: none), verified through `chain` (the
   * certificates above it; null: unknown, the leaf is judged alone), may call `method`; else why not.
   */
  refusal(method: string, certRaw: Buffer | null, chain?: PeerChain | null): string | null;
  /** The gate as a server interceptor: a refused call ends PERMISSION_DENIED before any handler runs. */
  readonly interceptor: grpc.ServerInterceptor;
}

type Caller = { readonly kind: 'agent' | 'other' | 'unverified'; readonly subject: string };

/**
 * `onRefused` hears each refused call's code (a metric counts them). `otherCasPem`: the other CAs
 * the port trusts (tls.ca, tls.client_ca), which a chain Node linked to the wrong one of two
 * same-named CAs is checked against (peer-chain.ts).
 */
export function agentCaGate(agentCaPem: Buffer, onRefused: (code: AgentGateCode) => void = () => undefined, otherCasPem: Buffer | null = null): AgentCaGate {
  const cas = pemCertificates(agentCaPem);
  if (cas.length === 0) throw new Error('the agent CA file holds no PEM certificate');
  const chainOf = peerChains([...cas, ...(otherCasPem === null ? [] : pemCertificates(otherCasPem))]);
  const caPrints = new Set(cas.map((c) => c.fingerprint256));
  // Calls on one connection present the same chain: remember the last few verdicts.
  const known = new Map<string, Caller>();
  const classify = (raw: Buffer, chain: PeerChain | null): Caller => {
    const key = `${raw.toString('base64')}|${chain === null ? '?' : chain.verified ? chain.issuers.map((c) => c.fingerprint256).join(',') : '!'}`;
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    const cert = new X509Certificate(raw);
    const subject = subjectText(cert);
    let caller: Caller;
    if (chain !== null && !chain.verified) caller = { kind: 'unverified', subject };
    else {
      // An agent's: signed by the agent CA, directly or through intermediates it signed.
      const path = [cert, ...(chain?.issuers ?? [])];
      const agent = path.some((c) => issuedByAny(c, cas)) || path.some((c) => caPrints.has(c.fingerprint256));
      caller = { kind: agent ? 'agent' : 'other', subject };
    }
    if (known.size >= 256) known.delete(known.keys().next().value!);
    known.set(key, caller);
    return caller;
  };
  const verdict = (method: string, certRaw: Buffer | null, chain: PeerChain | null): DoorRefusal<AgentGateCode> | null => {
    if (method.startsWith(OPEN_TO_ALL)) return null;
    const caller = certRaw === null ? null : classify(certRaw, chain);
    if (caller?.kind === 'unverified') {
      return { code: 'UNVERIFIED_CHAIN', reason: `the caller's certificate (${caller.subject}) came with a chain in which a certificate was not signed by the one above it, so whether the agent CA (tls.agent_ca) issued it cannot be told` };
    }
    if (method === AGENT_STREAM_METHOD) {
      if (caller?.kind === 'agent') return null;
      const who = caller === null ? 'the caller presented no certificate' : `the caller's certificate (${caller.subject}) was not`;
      return { code: 'NOT_AN_AGENT', reason: `agent streams need a certificate issued by the agent CA (tls.agent_ca); ${who}` };
    }
    if (caller?.kind === 'agent') {
      return { code: 'AGENT_CERTIFICATE', reason: `the caller's certificate (${caller.subject}) was issued by the agent CA (tls.agent_ca), so it may open agent streams only, not call ${method}` };
    }
    return null;
  };
  const refusal = (method: string, certRaw: Buffer | null, chain: PeerChain | null = null): string | null => {
    const v = verdict(method, certRaw, chain);
    return v === null ? null : `${v.code}: ${v.reason}`;
  };
  const interceptor = doorGate((method, call, metadata) => verdict(method, call.getAuthContext().sslPeerCertificate?.raw ?? null, chainOf(metadata)), onRefused, () => onRefused(GATE_FAILED));
  return { refusal, interceptor };
}
