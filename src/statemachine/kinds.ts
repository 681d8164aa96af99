/**
 * The kinds this version of the controller replicates. A new resource kind is added here;
 * every node of a cluster must run with the same list.
 */
import { agentsKind, type AgentsCommand } from './agents.js';
import { clusterKind, type ClusterCommand } from './cluster-version.js';
import { kvKind, type KvCommand } from './kv.js';
import { membersKind, type MembersCommand } from './members.js';
import { meshKind, type MeshCommand } from './mesh.js';
import { settingsKind, type SettingsCommand } from './settings.js';
import { KindRegistry, type AnyResourceKind } from './resource-kind.js';

export const DEFAULT_KINDS: readonly AnyResourceKind[] = [kvKind, membersKind, settingsKind, meshKind, agentsKind, clusterKind];

export const DEFAULT_REGISTRY = new KindRegistry(DEFAULT_KINDS);

/** The commands of the default kinds. */
export type DefaultCommand = KvCommand | MembersCommand | SettingsCommand | MeshCommand | AgentsCommand | ClusterCommand;
