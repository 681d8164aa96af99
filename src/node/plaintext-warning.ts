/**
 * Plaintext beyond loopback is worth a loud warning at every start: without TLS, anyone who can
 * reach the port can send Raft messages as any member, read and write keys, and call every
 * peer and client RPC (docs/security.md).
 */
import { isLoopbackHost, parseHostPort } from '../config/host-port.js';
import type { NodeConfig } from '../config/index.js';

function hostOf(address: string): string {
  const parsed = parseHostPort(address);
  return parsed.ok ? parsed.value.host : address;
}

export function plaintextWarnings(config: NodeConfig): string[] {
  const out: string[] = [];
  const { self } = config;
  if (config.tls === null && !isLoopbackHost(hostOf(self.listen))) {
    out.push(
      `PLAINTEXT: listening on ${self.listen} without TLS. Anyone who can reach it can act as any member ` +
        '(send Raft messages, vote, append entries) and as any client. Configure the tls block (docs/deploy.md) or listen on loopback only.',
    );
  }
  if (self.metrics !== null && !isLoopbackHost(hostOf(self.metrics)) && !(config.tls?.metrics ?? false)) {
    out.push(`/metrics is served over plain HTTP on ${self.metrics}: set tls.metrics or bind it to loopback (docs/security.md).`);
  }
  return out;
}
