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
import { doorGate, OPEN_TO_ALL, type DoorRefusal } from './door-gate.js';
import { pemCertificates } from './tls-files.js';

/** The one call an agent's certificate may make. */
export const AGENT_STREAM_METHOD = '/controller.agents.AgentSync/Sync';

/** Whether `cert` was signed directly by one of `cas`. */
function issuedByAny(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/** Why the gate refuses a call: an agent's certificate off its stream, or another on it. */
export type AgentGateCode = 'AGENT_CERTIFICATE' | 'NOT_AN_AGENT';

export interface AgentCaGate {
  /** Null when the caller presenting `certRaw` (DER; null: none) may call `method`; else why not. */
  refusal(method: string, certRaw: Buffer | null): string | null;
  /** The gate as a server interceptor: a refused call ends PERMISSION_DENIED before any handler runs. */
  readonly interceptor: grpc.ServerInterceptor;
}

/** `onRefused` hears each refused call's code (a metric counts them). */
export function agentCaGate(agentCaPem: Buffer, onRefused: (code: AgentGateCode) => void = () => undefined): AgentCaGate {
  const cas = pemCertificates(agentCaPem);
  if (cas.length === 0) throw new Error('the agent CA file holds no PEM certificate');
  // Calls on one connection present the same certificate: remember the last few verdicts.
  const known = new Map<string, { readonly agent: boolean; readonly subject: string }>();
  const classify = (raw: Buffer): { readonly agent: boolean; readonly subject: string } => {
    const key = raw.toString('base64');
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    const cert = new X509Certificate(raw);
    const verdict = { agent: issuedByAny(cert, cas), subject: subjectText(cert) };
    if (known.size >= 256) known.delete(known.keys().next().value!);
    known.set(key, verdict);
    return verdict;
  };
  const verdict = (method: string, certRaw: Buffer | null): DoorRefusal<AgentGateCode> | null => {
    if (method.startsWith(OPEN_TO_ALL)) return null;
    const caller = certRaw === null ? null : classify(certRaw);
    if (method === AGENT_STREAM_METHOD) {
      if (caller?.agent === true) return null;
      const who = caller === null ? 'the caller presented no certificate' : `the caller's certificate (${caller.subject}) was not`;
      return { code: 'NOT_AN_AGENT', reason: `agent streams need a certificate issued by the agent CA (tls.agent_ca); ${who}` };
    }
    if (caller?.agent === true) {
      return { code: 'AGENT_CERTIFICATE', reason: `the caller's certificate (${caller.subject}) was issued by the agent CA (tls.agent_ca), so it may open agent streams only, not call ${method}` };
    }
    return null;
  };
  const refusal = (method: string, certRaw: Buffer | null): string | null => {
    const v = verdict(method, certRaw);
    return v === null ? null : `${v.code}: ${v.reason}`;
  };
  const interceptor = doorGate((method, call) => verdict(method, call.getAuthContext().sslPeerCertificate?.raw ?? null), onRefused);
  return { refusal, interceptor };
}
