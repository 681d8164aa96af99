/**
 * Checks across cluster.nodes: unique ids, unique dial addresses, and no two sockets bound to
 * the same host:port, however each is spelled (`localhost` and `127.0.0.1`: host-port.ts). A wildcard bind (0.0.0.0, [::]) is per machine, so across nodes it is
 * only comparable within one node's own listen and metrics.
 */
import { dialProblem, isWildcardHost, parseHostPort, sameAddress, sameHost } from './host-port.js';
import type { LocatedProblem, PathSegment } from './issues.js';
import { formatKeyPath } from './issues.js';
import type { RawConfig } from './schema.js';

type RawNode = RawConfig['cluster']['nodes'][number];

interface Bind {
  readonly node: number;
  readonly path: readonly PathSegment[];
  readonly label: string;
  /** A listen taken from address because none was written. */
  readonly defaulted: boolean;
  readonly host: string;
  readonly port: number;
}

export function checkNodes(nodes: readonly RawNode[]): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  const at = (i: number, key: string): PathSegment[] => ['cluster', 'nodes', i, key];

  const firstId = new Map<string, number>();
  const addresses: { readonly address: string; readonly node: number }[] = [];
  const duplicateAddress = new Set<number>();
  nodes.forEach((node, i) => {
    const seenId = firstId.get(node.id);
    if (seenId === undefined) firstId.set(node.id, i);
    else problems.push({ path: at(i, 'id'), reason: `duplicate node id "${node.id}" (also ${formatKeyPath(at(seenId, 'id'))})` });

    // Syntax is the schema's; what is left of dialProblem is the wildcard.
    const undialable = parseHostPort(node.address).ok ? dialProblem(node.address) : null;
    if (undialable !== null) {
      problems.push({ path: at(i, 'address'), reason: `${undialable}; put it in listen and give the node's reachable host:port here` });
    }
    const seenAddress = addresses.find((a) => sameAddress(a.address, node.address))?.node;
    if (seenAddress === undefined) addresses.push({ address: node.address, node: i });
    else {
      duplicateAddress.add(i);
      problems.push({
        path: at(i, 'address'),
        reason: `duplicate address ${node.address} (also ${formatKeyPath(at(seenAddress, 'address'))})`,
      });
    }
  });

  const binds = nodes.flatMap((node, i) => bindsOf(node, i, duplicateAddress.has(i)));
  for (const [j, bind] of binds.entries()) {
    const clash = binds.slice(0, j).find((earlier) => clashes(earlier, bind));
    if (clash !== undefined) {
      const why = clash.defaulted ? ' (listen defaults to address)' : '';
      problems.push({
        path: bind.path,
        reason: `${bind.label} ${bind.host}:${bind.port} is already bound by ${formatKeyPath(clash.path)}${why}`,
      });
    }
  }
  return problems;
}

/** The sockets a node binds. A listen that defaults to an already-duplicate address is left out: that clash was reported once. */
function bindsOf(node: RawNode, i: number, addressIsDuplicate: boolean): Bind[] {
  const binds: Bind[] = [];
  const add = (key: string, label: string, text: string, defaulted: boolean): void => {
    const parsed = parseHostPort(text);
    if (!parsed.ok) return;
    const { host, port } = parsed.value;
    binds.push({ node: i, path: ['cluster', 'nodes', i, key], label, defaulted, host: host.toLowerCase(), port });
  };
  if (node.listen !== undefined) add('listen', 'listen address', node.listen, false);
  else if (!addressIsDuplicate) add('address', 'listen address (defaults to address)', node.address, true);
  if (node.metrics !== undefined && node.metrics !== null) add('metrics', 'metrics address', node.metrics, false);
  return binds;
}

function clashes(a: Bind, b: Bind): boolean {
  if (a.port !== b.port) return false;
  if (a.node === b.node) return sameHost(a.host, b.host) || isWildcardHost(a.host) || isWildcardHost(b.host);
  return sameHost(a.host, b.host) && !isWildcardHost(a.host);
}
