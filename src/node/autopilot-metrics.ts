/**
 * Prometheus metrics of health in depth, autopilot and members' resources, registered on the
 * node's registry (src/node/metrics.ts) in the same style: gauges read on scrape, counters
 * bumped where things happen. Only the leader judges health: on other nodes the health gauges
 * are NaN ("not judged here"), so an alert on `autopilot_healthy == 0` fires on the leader only.
 */
import client from 'prom-client';
import type { ClusterHealthReport, MemberHealth } from '../autopilot/health.js';

export class AutopilotMetrics {
  private readonly removals: client.Counter;
  private readonly transfers: client.Counter;
  private readonly remoteCalls: client.Counter<'figures'>;
  private readonly cacheLookups: client.Counter<'result'>;

  constructor(registry: client.Registry, report: () => ClusterHealthReport | null) {
    const registers = [registry];
    const cluster = (name: string, help: string, read: (r: ClusterHealthReport) => number): void => {
      new client.Gauge({
        name,
        help,
        registers,
        collect() {
          const r = report();
          this.set(r === null ? Number.NaN : read(r));
        },
      });
    };
    cluster('autopilot_healthy', '1 when the leader sees a quorum of healthy voters and a moving commit index (NaN off the leader).', (r) => (r.healthy ? 1 : 0));
    cluster('autopilot_failure_tolerance', 'Healthy voters that could fail with a quorum left (NaN off the leader).', (r) => r.failureTolerance);
    cluster('autopilot_voters', 'Voters in the configuration, as the leader judges them (NaN off the leader).', (r) => r.voters);
    cluster('autopilot_healthy_voters', 'Voters the leader judges healthy (NaN off the leader).', (r) => r.healthyVoters);
    const member = (name: string, help: string, read: (m: MemberHealth) => number | null): void => {
      new client.Gauge({
        name,
        help,
        labelNames: ['member'],
        registers,
        collect() {
          this.reset();
          for (const m of report()?.members ?? []) {
            const v = read(m);
            if (v !== null) this.set({ member: m.id }, v);
          }
        },
      });
    };
    member('autopilot_member_healthy', '1 when the leader judges the member healthy.', (m) => (m.healthy ? 1 : 0));
    member('autopilot_member_last_contact_seconds', 'Since the leader last heard from the member.', (m) => (m.lastContactMs === null ? null : m.lastContactMs / 1000));
    member('autopilot_member_trailing_entries', "Entries the member's log is behind the leader's.", (m) => m.lagEntries);
    member('autopilot_member_term', 'The term the member last spoke in.', (m) => m.term);
    member('autopilot_member_stable_since_timestamp_seconds', "Since when the member's health has had its current value (unix time).", (m) => m.stableSince / 1000);
    this.removals = new client.Counter({ name: 'autopilot_dead_members_removed_total', help: 'Voters removed by dead-member cleanup on this leader.', registers });
    this.transfers = new client.Counter({ name: 'autopilot_leader_transfers_total', help: 'Leadership hand-offs to the preferred leader started by this leader.', registers });
    this.remoteCalls = new client.Counter({
      name: 'resources_remote_calls_total',
      help: 'Calls to other members for their resources: figures="static" fetched CPUs, flags and memory (a cache miss), "live" only disk and load.',
      labelNames: ['figures'],
      registers,
    });
    this.cacheLookups = new client.Counter({
      name: 'resources_cache_lookups_total',
      help: "How each member's resources cache was found: fresh, missing, expired, corrupt, or bypassed by --refresh.",
      labelNames: ['result'],
      registers,
    });
    // Series that exist from the start, so rate() and increase() see their first change.
    this.remoteCalls.inc({ figures: 'static' }, 0);
    this.remoteCalls.inc({ figures: 'live' }, 0);
  }

  onRemoved(): void {
    this.removals.inc();
  }

  onTransfer(): void {
    this.transfers.inc();
  }

  onRemoteCall(figures: 'static' | 'live'): void {
    this.remoteCalls.inc({ figures });
  }

  onCacheLookup(result: string): void {
    this.cacheLookups.inc({ result });
  }
}
