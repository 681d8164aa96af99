/**
 * The TLS material a controller serves and dials with, and every place it is in force: the
 * gRPC listener's handshakes (peers, clients and agents share that port), /metrics over HTTPS,
 * the client credentials every outgoing channel was built with, and the call-level checks of
 * which CA issued a certificate. `replace` swaps a checked snapshot (tls-snapshot.ts) into all of
 * them for what starts from then on; connections already open keep the material they began with,
 * except that `closeRevoked` closes those (accepted or opened) whose certificates the CRLs in
 * force revoke.
 *
 * Prepare, then commit: every new context is built before any is swapped in, so material
 * OpenSSL would refuse leaves all of them as they were, never half the places reloaded.
 */
import { createSecureContext } from 'node:tls';
import { agentCaGate, type AgentGateCode } from '../transport/agent-ca-gate.js';
import { clientSecureContext, listenerTlsOptions, mutualTlsCredentialsFrom, type PeerCredentials } from '../transport/credentials.js';
import { Revocations } from '../transport/crl-revoked.js';
import type { GuardedListener } from '../transport/guarded-listener.js';
import { certificatePeerAuth } from '../transport/peer-auth.js';
import { ReloadableAgentGate, ReloadablePeerAuth, retainedCaPem } from '../transport/reloadable-auth.js';
import type { ReloadableChannelCredentials } from '../transport/reloadable-channel-credentials.js';
import type { ClosedConnection, RevocationCheck } from '../transport/revoked-sockets.js';
import { tlsChange } from '../transport/tls-change.js';
import type { TlsSnapshot } from '../transport/tls-snapshot.js';
import type { MetricsTls } from './metrics.js';

/** What /metrics over HTTPS is served with, from a snapshot. */
function metricsTls(s: TlsSnapshot): MetricsTls {
  return { cert: s.cert, key: s.key, clientCa: s.metricsClientCa, crl: s.crl };
}

/** What a reload asks of /metrics over HTTPS (metrics.ts Metrics). */
export interface MetricsEndpoint {
  setTls(tls: MetricsTls, cutHandshakes: boolean): void;
  closeRevoked(revocations: RevocationCheck): Promise<ClosedConnection[]>;
}

export class TlsInForce {
  readonly credentials: PeerCredentials & { readonly client: ReloadableChannelCredentials };
  readonly peerAuth: ReloadablePeerAuth;
  /** Null without tls.agent_ca (whether there is one is the config's, not the files'). */
  readonly agentGate: ReloadableAgentGate | null;
  private listener: GuardedListener | null = null;
  private metrics: MetricsEndpoint | null = null;
  /** The CAs the call-level checks accept (reloadable-auth.ts: dropped ones are retained). */
  private peerCas: Buffer;
  private agentCas: Buffer | null;

  constructor(
    private snapshot: TlsSnapshot,
    private readonly onAgentRefused: (code: AgentGateCode) => void,
  ) {
    this.credentials = mutualTlsCredentialsFrom(snapshot);
    this.peerCas = snapshot.ca;
    this.agentCas = snapshot.agentCa;
    this.peerAuth = new ReloadablePeerAuth(this.peerAuthFor(this.peerCas));
    this.agentGate = this.agentCas === null ? null : new ReloadableAgentGate(agentCaGate(this.agentCas, onAgentRefused, otherCas(snapshot, this.peerCas)));
  }

  get current(): TlsSnapshot {
    return this.snapshot;
  }

  /** The listener whose handshakes follow `replace` (it is built after the credentials). */
  bindListener(listener: GuardedListener): void {
    this.listener = listener;
  }

  /** /metrics, when it is served over HTTPS. */
  bindMetrics(metrics: MetricsEndpoint): void {
    this.metrics = metrics;
  }

  /** The options /metrics over HTTPS starts with. */
  metricsTls(): MetricsTls {
    return metricsTls(this.snapshot);
  }

  /** Swaps `next` in for new connections and new calls; throws, changing nothing, if OpenSSL refuses it. */
  replace(next: TlsSnapshot): void {
    // Prepare: each of these throws on material OpenSSL refuses.
    const client = clientSecureContext(next);
    const listenerOptions = listenerTlsOptions(next);
    // A bound listener's own swap is the check (first of the commits below, so a refusal there
    // changes nothing): OpenSSL parses a CRL again for every context, 0.4 s for one of 9 MB.
    if (this.listener === null) createSecureContext(listenerOptions);
    const forMetrics = metricsTls(next);
    createSecureContext({ cert: forMetrics.cert, key: forMetrics.key, ...(forMetrics.clientCa ? { ca: forMetrics.clientCa } : {}) });
    const peerCas = retainedCaPem(this.peerCas, next.ca, [next.clientCa, next.agentCa]);
    const peerAuth = this.peerAuthFor(peerCas);
    const agentCas = this.agentCas === null || next.agentCa === null ? null : retainedCaPem(this.agentCas, next.agentCa, [next.ca, next.clientCa]);
    const agentGate = agentCas === null ? null : agentCaGate(agentCas, this.onAgentRefused, otherCas(next, peerCas));
    // Commit. Handshakes in flight began with the old material: when it changed, they are cut
    // (an honest client connects again), so none completes past a CRL or CA the swap removed.
    const changed = tlsChange(this.snapshot, next).changed.length > 0;
    this.listener?.setTls(listenerOptions, changed);
    if (changed) this.credentials.client.swap(client);
    this.metrics?.setTls(forMetrics, changed);
    this.peerAuth.swap(peerAuth);
    this.peerCas = peerCas;
    if (agentGate !== null && agentCas !== null) {
      this.agentGate?.swap(agentGate);
      this.agentCas = agentCas;
    }
    this.snapshot = next;
  }

  /**
   * Closes the connections whose certificate (or a CA of its chain) the CRLs in force revoke: a
   * reload that changed tls.crl calls it. Callers' connections on the gRPC port, scrapers' on
   * /metrics (Prometheus keeps one alive between scrapes), and the connections this node opened
   * to peers whose server certificate is revoked (their channels reconnect into the new CRL).
   */
  async closeRevoked(): Promise<ClosedConnection[]> {
    const crls = this.snapshot.crls;
    if (crls.length === 0) return [];
    const revocations = new Revocations(crls.map((c) => c.der));
    if (revocations.empty) return [];
    const closed = await Promise.all([
      this.listener?.closeRevoked(revocations) ?? [],
      this.metrics?.closeRevoked(revocations) ?? [],
      this.credentials.client.closeRevoked(revocations),
    ]);
    return closed.flat();
  }

  private peerAuthFor(cas: Buffer): ReturnType<typeof certificatePeerAuth> {
    // A separate client or agent CA: a peer certificate must then come from tls.ca itself.
    return certificatePeerAuth(cas, this.snapshot.files.clientCa !== null || this.snapshot.files.agentCa !== null);
  }
}

/** The CAs besides the agent CA that the gRPC port trusts: the controllers' (with those retained) and the client CA. */
function otherCas(snapshot: TlsSnapshot, peerCas: Buffer): Buffer {
  return snapshot.clientCa === null ? peerCas : Buffer.concat([peerCas, Buffer.from('\n'), snapshot.clientCa]);
}
