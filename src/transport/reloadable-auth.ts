/**
 * The call-level certificate checks (peer-auth.ts: "is this a peer certificate from tls.ca";
 * agent-ca-gate.ts: "was this issued by tls.agent_ca") with CAs a TLS reload can replace. The
 * handshake decides who connects; these decide, call by call, what a connected certificate may
 * do, so they are handed to the server once and delegate to the checks of the latest files.
 *
 * A reload must not turn against connections it leaves open: a member whose peer certificate
 * came from a CA just dropped from tls.ca (the last step of a CA rotation) still has its old
 * connection to this node, and would see every peer RPC on it refused, with nothing to make it
 * reconnect. So a CA dropped from a role keeps counting for that role (retainedCaPem) while
 * this process runs: a new connection with its certificates fails the handshake anyway, since
 * the CA is no longer trusted there. Unless the CA moved to another client role: a CA now
 * named as a client or agent CA must not make certificates peers or agents.
 */
import type { AgentCaGate } from './agent-ca-gate.js';
import type { PeerAuth } from './peer-auth.js';
import { pemCertificates } from './tls-files.js';

/**
 * `current`'s certificates and those of `previous` that are in neither `current` nor any of
 * `excluded` (PEM bundles), as one PEM bundle.
 */
export function retainedCaPem(previous: Buffer, current: Buffer, excluded: ReadonlyArray<Buffer | null>): Buffer {
  const drop = new Set([current, ...excluded].flatMap((pem) => (pem === null ? [] : pemCertificates(pem).map((c) => c.fingerprint256))));
  const kept = pemCertificates(previous).filter((c) => !drop.has(c.fingerprint256));
  return kept.length === 0 ? current : Buffer.concat([current, ...kept.map((c) => Buffer.from(`\n${c.toString()}`))]);
}

/** A PeerAuth that asks the latest one swapped in. */
export class ReloadablePeerAuth implements PeerAuth {
  constructor(private current: PeerAuth) {}

  swap(next: PeerAuth): void {
    this.current = next;
  }

  check(...args: Parameters<PeerAuth['check']>): ReturnType<PeerAuth['check']> {
    return this.current.check(...args);
  }

  checkAnyPeer(...args: Parameters<PeerAuth['checkAnyPeer']>): ReturnType<PeerAuth['checkAnyPeer']> {
    return this.current.checkAnyPeer(...args);
  }

  peerNamed(...args: Parameters<PeerAuth['peerNamed']>): ReturnType<PeerAuth['peerNamed']> {
    return this.current.peerNamed(...args);
  }

  peerCaNonPeer(...args: Parameters<PeerAuth['peerCaNonPeer']>): ReturnType<PeerAuth['peerCaNonPeer']> {
    return this.current.peerCaNonPeer(...args);
  }
}

/** An agent CA gate whose interceptor, installed once, asks the latest gate swapped in. */
export class ReloadableAgentGate implements AgentCaGate {
  constructor(private current: AgentCaGate) {}

  swap(next: AgentCaGate): void {
    this.current = next;
  }

  refusal(...args: Parameters<AgentCaGate['refusal']>): string | null {
    return this.current.refusal(...args);
  }

  readonly interceptor: AgentCaGate['interceptor'] = (descriptor, call) => this.current.interceptor(descriptor, call);
}
