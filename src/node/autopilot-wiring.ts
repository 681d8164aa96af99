/**
 * Builds health in depth, autopilot and members' resources for one controller from the parts
 * the composition root already has (the Raft host, the state machine, the membership layer,
 * the peer credentials, the metrics registry), so controller-node.ts only plugs them in.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthSource } from '../api/health-ops.js';
import type { DuplicateMark } from '../identity/duplicate-marks.js';
import type { NodeConfig } from '../config/index.js';
import type { MembershipNode } from './membership-port.js';
import type { RaftHost } from './raft-host.js';
import { FileCacheStore, resourcesCacheDir } from '../resources/cache-store.js';
import { ResourcesGatherer } from '../resources/gatherer.js';
import { readMachine } from '../resources/local-probe.js';
import { ResourcesPeerClient } from '../resources/peer-client.js';
import { memberResourcesHandlers } from '../resources/peer-service.js';
import type { ResourceMember, ResourcesReport } from '../resources/types.js';
import { memberResourcesDefinition, type DiskReading } from '../resources/wire.js';
import type { StateMachine } from '../statemachine/index.js';
import { settingsKind } from '../statemachine/settings.js';
import type { PeerAuth, TransportIdentity } from '../transport/index.js';
import { strictRequests } from '../transport/strict-decode.js';
import type { Scheduler } from '../util/clock.js';
import { AutopilotDriver } from './autopilot-driver.js';
import { AutopilotMetrics } from './autopilot-metrics.js';
import type { PeerContacts } from './peer-contact.js';
import type { DiskFloor } from '../api/disk-floor.js';
import { VOTER_DISK_ASK_EVERY_MS, VoterDisks } from './voter-disks.js';
import type { Timer } from '../util/clock.js';

/** A member asked for its resources answers within this, or is listed as unreachable. */
export const RESOURCES_DEADLINE_MS = 1_000;

export interface AutopilotWiringDeps {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly host: RaftHost;
  readonly stateMachine: StateMachine;
  readonly membership: MembershipNode;
  readonly contacts: PeerContacts;
  readonly registry: Registry;
  readonly peerCredentials: grpc.ChannelCredentials;
  /** Who may call this node's peer services, and what it stamps on its own calls (src/identity). */
  readonly identity: Pick<TransportIdentity, 'envelope' | 'judgePing' | 'onRefused'>;
  readonly auth: PeerAuth;
  /** Two processes speak as member `id`, as this node saw it (NodeIdentity.duplicateMark). */
  readonly duplicateMark: (id: string) => DuplicateMark | null;
  /** How long this leader has held entries without its commit index moving, and the limit past which it is stuck. */
  readonly commitStall: () => { readonly stalledMs: number; readonly limitMs: number };
  /** Told before autopilot asks Raft for a hand-off, so the audit names the preferred leader as its cause. */
  readonly preferredHandOff: (to: string) => void;
  /** The leader's free-disk floor, told the other voters' disks (voter-disks.ts). */
  readonly diskFloor: DiskFloor;
  /** controller.quota_bytes: health is unhealthy while the state is full (NOSPACE). */
  readonly quota?: { refusingWrites(): string | null };
}

export interface AutopilotWiring {
  readonly health: HealthSource;
  readonly resources: { gather(refresh: boolean): Promise<ResourcesReport> };
  /** Adds controller.peer.MemberResources to the node's server. */
  register(server: grpc.Server): void;
  /** A leader change this node saw (the preferred leader's back-off counts them). */
  leaderChanged(from: string | null, to: string, byElection: boolean): void;
  /** A peer's pong carried its disk (voter-disks.ts: the leader then does not ask it). */
  peerDisk(peer: string, disk: DiskReading): void;
  start(): void;
  stop(): void;
}

export function wireAutopilot(deps: AutopilotWiringDeps): AutopilotWiring {
  const { config, host, stateMachine: sm, logger } = deps;
  const self = config.self.id;
  let driver: AutopilotDriver | null = null;
  const metrics = new AutopilotMetrics(deps.registry, () => driver?.report() ?? null);
  driver = new AutopilotDriver(
    {
      self,
      electionTimeoutMs: config.raft.electionTimeoutMs,
      logger,
      raftStatus: () => host.status(),
      members: () => sm.members.list(),
      online: () => new Set(deps.membership.listControllers().rows.filter((r) => r.online).map((r) => r.id)),
      contact: (id) => deps.contacts.get(id),
      duplicate: deps.duplicateMark,
      settings: () => sm.view(settingsKind).all(),
      commitStall: deps.commitStall,
      writesRefused: () => deps.diskFloor.refusingWrites() ?? deps.quota?.refusingWrites() ?? null,
      remove: async (id, reason) => {
        const result = await host.proposeConfChange({ type: 'remove', node: id, context: reason }, 2 * config.raft.electionTimeoutMs);
        if (!result.ok) throw new Error(result.message);
      },
      transferLeadership: (id) => {
        deps.preferredHandOff(id);
        host.transferLeadership(id);
      },
    },
    deps.scheduler,
    { onRemoved: () => metrics.onRemoved(), onTransfer: () => metrics.onTransfer() },
  );
  const autopilot = driver;

  const peers = new ResourcesPeerClient({
    self,
    clusterName: config.clusterName,
    credentials: deps.peerCredentials,
    envelope: (to) => deps.identity.envelope(to),
  });
  const gatherer = new ResourcesGatherer({
    self,
    fetch: (member, includeStatic, deadlineMs) =>
      member.id === self ? readMachine(config.dataDir, includeStatic) : peers.describe(member, includeStatic, deadlineMs),
    cache: new FileCacheStore(resourcesCacheDir(config.dataDir)),
    clock: deps.scheduler,
    ttlMs: config.resourcesCacheTtlMs,
    deadlineMs: RESOURCES_DEADLINE_MS,
    onRemoteCall: (kind) => metrics.onRemoteCall(kind),
    onCacheLookup: (result) => metrics.onCacheLookup(result),
    onCacheWriteFailed: (member, err) => logger.warn({ member, err }, `resources cache of ${member} not written`),
    onCachePruneFailed: (err) => logger.warn({ err }, 'resources caches of removed members not deleted'),
  });
  const voterDisks = new VoterDisks({
    self,
    votersIfLeading: () => {
      if (host.position().role !== 'leader') return null;
      return host.conf().voters.flatMap((id) => {
        const address = sm.members.get(id)?.address;
        return address === undefined ? [] : [{ id, address }];
      });
    },
    ask: (member) => peers.describeDisk(member, RESOURCES_DEADLINE_MS),
    floor: deps.diskFloor,
    now: () => deps.scheduler.now(),
  });
  let voterDiskTicker: Timer | null = null;
  const resourceMembers = (): ResourceMember[] => {
    // With the incarnation the cluster recorded: a cache fetched from another one is not used.
    const members: ResourceMember[] = sm.members.list().map((m) => ({ id: m.id, address: m.address, incarnation: m.incarnation }));
    // The answer includes the asking member, also before the records list it (a joining node).
    if (!members.some((m) => m.id === self)) members.push({ id: self, address: config.self.address, incarnation: '' });
    return members;
  };

  return {
    health: {
      report: () => autopilot.report(),
      preferredLeader: () => autopilot.preferredLeader(),
      leaderWaitMs: 2 * config.raft.electionTimeoutMs,
    },
    resources: {
      gather: (refresh) => {
        const members = resourceMembers();
        peers.retainOnly(new Set(members.map((m) => m.address)));
        return gatherer.gather(members, refresh);
      },
    },
    register(server) {
      server.addService(
        strictRequests(memberResourcesDefinition().service),
        memberResourcesHandlers({
          self,
          auth: deps.auth,
          identity: deps.identity,
          read: (includeStatic) => readMachine(config.dataDir, includeStatic),
          minFreeDiskBytes: config.minFreeDiskBytes,
        }),
      );
    },
    leaderChanged: (from, to, byElection) => {
      autopilot.leaderChanged(from, to, byElection);
      voterDisks.leaderChanged(to);
    },
    peerDisk: (peer, disk) => voterDisks.heard(peer, disk),
    start: () => {
      autopilot.start();
      voterDiskTicker = deps.scheduler.every(VOTER_DISK_ASK_EVERY_MS, () => voterDisks.round());
    },
    stop: () => {
      autopilot.stop();
      voterDiskTicker?.cancel();
      peers.close();
    },
  };
}
