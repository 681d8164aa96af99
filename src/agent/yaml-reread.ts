/**
 * agent.yaml read again on SIGHUP. The agent takes its file at start only (its declaration is
 * the hello of every stream, its protocols judge every push), but SIGHUP is what an operator
 * sends a daemon after editing its file, as this project's controller reloads on it. Node's
 * default for SIGHUP is death: `kill -HUP` (or a unit's `ExecReload`) took an agent down with
 * exit 129 and not a word in its log, its endpoints unhealthy until someone restarted it
 * (attack-operator round 15). Now the file is checked as a start would check it, and the answer
 * says what a restart would do: nothing new, apply the keys named, or stop at once (exit 2).
 */
import { ConfigError } from '../config/errors.js';
import { loadAgentYaml, type AgentYaml } from './agent-yaml.js';

export type AgentYamlKey = keyof AgentYaml;

/** The keys in the file's own order, so a message names them as the operator wrote them. */
const KEYS: readonly AgentYamlKey[] = ['protocols', 'lazy', 'dependencies', 'hosts'];

export type AgentYamlReread =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'changed'; readonly keys: readonly AgentYamlKey[] }
  | { readonly kind: 'invalid'; readonly message: string };

/**
 * What `file` says now against what the agent runs with. Both come from parseAgentYaml, which
 * sorts lists and hosts and builds specs and labels in a fixed field order, so equal JSON is an
 * equal declaration whatever order the file lists them in.
 */
export function rereadAgentYaml(file: string, running: AgentYaml, load: (file: string) => AgentYaml = loadAgentYaml): AgentYamlReread {
  let now: AgentYaml;
  try {
    now = load(file);
  } catch (err) {
    if (err instanceof ConfigError) return { kind: 'invalid', message: err.message };
    throw err;
  }
  const keys = KEYS.filter((k) => JSON.stringify(now[k]) !== JSON.stringify(running[k]));
  return keys.length === 0 ? { kind: 'unchanged' } : { kind: 'changed', keys };
}

/** The log line for a reread: its level, code and words. */
export interface RereadNote {
  readonly level: 'info' | 'warn' | 'error';
  readonly code: 'AGENT_CONFIG_UNCHANGED' | 'AGENT_CONFIG_RESTART_NEEDED' | 'AGENT_CONFIG_RELOAD_FAILED';
  /** The keys a restart would apply, for scripts reading the log; empty unless changed. */
  readonly keys: readonly AgentYamlKey[];
  readonly message: string;
}

export function rereadNote(file: string, reread: AgentYamlReread): RereadNote {
  switch (reread.kind) {
    case 'unchanged':
      return { level: 'info', code: 'AGENT_CONFIG_UNCHANGED', keys: [], message: `SIGHUP: ${file} says what this agent runs with; nothing to do` };
    case 'changed':
      return {
        level: 'warn',
        code: 'AGENT_CONFIG_RESTART_NEEDED',
        keys: reread.keys,
        message:
          `SIGHUP: ${file} changed ${reread.keys.join(', ')}, which this agent reads at start only: it keeps running with what it ` +
          'started with; restart it to apply them',
      };
    case 'invalid':
      return {
        level: 'error',
        code: 'AGENT_CONFIG_RELOAD_FAILED',
        keys: [],
        message: `SIGHUP: ${reread.message}; this agent keeps running with what it started with, but a restart would stop at once (exit 2): fix the file first`,
      };
    default: {
      const never: never = reread;
      return never;
    }
  }
}
