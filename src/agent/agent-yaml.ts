/**
 * agent.yaml: what an agent speaks and publishes (docs/agents.md, "Running agents").
 *
 *   protocols: [http, tcp]     # a configuration using another protocol is NACKed
 *   lazy: false                # true: only what it hosts and depends on (docs/agents.md)
 *   dependencies: [db]         # static, never expire
 *   hosts:                     # the services it publishes
 *     - { name: web, spec: { protocol: http, ports: [8080] }, labels: { tier: front } }
 *
 * Strict like the cluster file: unknown keys, wrong types and bad names are refused with the
 * file, the key path and the reason (exit 2), before anything connects.
 */
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import { describeFsError, readConfigFile } from '../config/load.js';
import { closest, formatKeyPath, problemsFromIssues } from '../config/issues.js';
import { describeValue } from '../config/schema.js';
import { parseYamlSource } from '../config/yaml-source.js';
import {
  MAX_AGENT_NAMES,
  MAX_AGENT_PROTOCOLS,
  PROTOCOL_PATTERN,
  RESOURCE_NAME_PATTERN,
  parseLabels,
  parseServiceSpec,
  type HostedService,
  type Labels,
  type ServiceSpec,
} from '../statemachine/index.js';

export type { HostedService };

export interface AgentYaml {
  readonly protocols: readonly string[];
  readonly lazy: boolean;
  readonly dependencies: readonly string[];
  readonly hosts: readonly HostedService[];
}

export const DEFAULT_AGENT_YAML: AgentYaml = { protocols: ['http', 'tcp'], lazy: false, dependencies: [], hosts: [] };

const serviceName = z.string().regex(RESOURCE_NAME_PATTERN, { error: (i) => `expected a service name (lower-case letters, digits, '-' and '.'), found ${describeValue(i.input)}` });
const protocol = z.string().regex(PROTOCOL_PATTERN, { error: (i) => `expected a protocol name such as http or tcp, found ${describeValue(i.input)}` });

function unique<T extends z.ZodType<string>>(item: T, max: number) {
  return z
    .array(item)
    .max(max, { error: `expected at most ${max} entries` })
    .check((ctx) => {
      const seen = new Set<string>();
      for (const v of ctx.value) {
        if (seen.has(v)) ctx.issues.push({ code: 'custom', message: `"${v}" is listed twice`, input: ctx.value });
        seen.add(v);
      }
    });
}

const validationError = (m: string): Error => new Error(m);

const host = z.strictObject({
  name: serviceName,
  spec: z.unknown().transform((value, ctx): ServiceSpec => {
    try {
      return parseServiceSpec(value, 'spec', validationError);
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message.replace(/^spec: /, ''), input: value });
      return z.NEVER;
    }
  }),
  labels: z
    .unknown()
    .optional()
    .transform((value, ctx): Labels => {
      try {
        return parseLabels(value, 'labels', validationError);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message.replace(/^labels: /, ''), input: value });
        return z.NEVER;
      }
    }),
});

export const agentYamlSchema = z.strictObject({
  protocols: unique(protocol, MAX_AGENT_PROTOCOLS).optional(),
  lazy: z.boolean().optional(),
  dependencies: unique(serviceName, MAX_AGENT_NAMES).optional(),
  hosts: z.array(host).max(MAX_AGENT_NAMES, { error: `expected at most ${MAX_AGENT_NAMES} hosted services` }).optional(),
});

export function parseAgentYaml(text: string, file: string): AgentYaml {
  const source = parseYamlSource(text);
  if (!source.ok) throw new ConfigError(file, [{ keyPath: '(yaml)', reason: source.reason, line: source.line }]);
  if (source.data === null || source.data === undefined) return DEFAULT_AGENT_YAML;
  const parsed = agentYamlSchema.safeParse(source.data, { reportInput: true });
  if (!parsed.success) {
    const problems = problemsFromIssues(agentYamlSchema, parsed.error.issues).map((p): ConfigProblem => ({ keyPath: formatKeyPath(p.path), reason: p.reason, line: source.lineOf(p.path) }));
    throw new ConfigError(file, [problems[0]!, ...problems.slice(1)]);
  }
  const names = new Set<string>();
  for (const [i, h] of (parsed.data.hosts ?? []).entries()) {
    if (names.has(h.name)) throw new ConfigError(file, [{ keyPath: `hosts[${i}].name`, reason: `service "${h.name}" is listed twice`, line: source.lineOf(['hosts', i, 'name']) }]);
    names.add(h.name);
  }
  return {
    protocols: [...(parsed.data.protocols ?? DEFAULT_AGENT_YAML.protocols)].sort(),
    lazy: parsed.data.lazy ?? false,
    dependencies: [...(parsed.data.dependencies ?? [])].sort(),
    hosts: [...(parsed.data.hosts ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/**
 * Read as the controller reads its config file (config/load.ts): a regular file of at most 1 MiB
 * of UTF-8 text (256 hosted services take a few tens of KB). Before, the agent read whatever was
 * there: `--config /dev/zero` aborted it (std::bad_alloc, no message of its own), and a 200 MB
 * file took 1 GB of memory and was refused by echoing all of it on one line (attack round 14).
 */
export function loadAgentYaml(file: string): AgentYaml {
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (err) {
    throw new ConfigError(file, [{ keyPath: '(file)', reason: `cannot read the agent config: ${describeFsError(err)}`, line: null }], { cause: err });
  }
  return parseAgentYaml(text, file);
}

/** Names agents commonly speak. Any name is taken (only agents judge what they support), but another is more often a typo. */
const FAMILIAR_PROTOCOLS: readonly string[] = ['grpc', 'http', 'http2', 'https', 'tcp', 'tls', 'udp'];

/**
 * What a file that parsed may still get wrong, one line each, for the agent to warn about at
 * start: a protocol name that looks like a typo (every service of the intended protocol would be
 * NACKed), and a hosted service of a protocol the agent does not list (it would NACK its own).
 */
export function agentYamlWarnings(yaml: AgentYaml, file: string): string[] {
  const out: string[] = [];
  for (const p of yaml.protocols) {
    if (FAMILIAR_PROTOCOLS.includes(p)) continue;
    const guess = closest(p, FAMILIAR_PROTOCOLS);
    out.push(
      `${file}: protocols lists ${JSON.stringify(p)}, which is not a common protocol name${guess === null ? '' : ` (did you mean "${guess}"?)`}: ` +
        'a configuration with a service of a protocol not listed is NACKed',
    );
  }
  for (const h of yaml.hosts) {
    if (yaml.protocols.includes(h.spec.protocol)) continue;
    out.push(
      `${file}: hosts: service ${JSON.stringify(h.name)} uses protocol ${JSON.stringify(h.spec.protocol)}, which protocols does not list ` +
        `(${yaml.protocols.join(', ')}): this agent would NACK every configuration holding its own service`,
    );
  }
  return out;
}
