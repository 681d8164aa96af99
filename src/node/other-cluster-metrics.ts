/**
 * The Prometheus gauge of peers seen answering for another cluster id than this node's
 * (other-cluster-peers.ts): above 0, two clusters run under one cluster file, each acknowledging
 * writes. Read on scrape.
 */
import client from 'prom-client';

export class OtherClusterMetrics {
  constructor(registry: client.Registry, count: () => number) {
    new client.Gauge({
      name: 'controller_peers_other_cluster',
      help: "Peers of this controller's cluster file or membership seen answering for another cluster id: two clusters under one cluster file.",
      registers: [registry],
      collect() {
        this.set(count());
      },
    });
  }
}
