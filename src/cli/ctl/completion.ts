/**
 * `ctl completion bash`: a completion script generated from the command tree itself, so it
 * never lags behind a new command or flag. It completes subcommands, flags, and the values of
 * flags with fixed choices (`-o json`).
 */
import type { Command, Option } from 'commander';
import { UsageError } from '../../api/errors.js';
import type { Session } from './context.js';

export const COMPLETION_SHELLS = ['bash'] as const;

interface Node {
  /** Space-separated command path below `ctl`, '' for the top level. */
  readonly path: string;
  readonly subcommands: readonly string[];
  readonly flags: readonly string[];
  /** Flags taking a value with fixed choices. */
  readonly choices: ReadonlyMap<string, readonly string[]>;
}

function flagsOf(options: readonly Option[]): string[] {
  return options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
}

function walk(cmd: Command, path: string, inherited: readonly Option[], out: Node[]): void {
  const options = [...inherited, ...cmd.options];
  const choices = new Map<string, readonly string[]>();
  for (const o of options) {
    if (o.argChoices === undefined) continue;
    for (const f of [o.short, o.long]) if (f !== undefined) choices.set(f, o.argChoices);
  }
  const flags = [...flagsOf(options), '--help'];
  if (choices.has('--output')) flags.push('-w', '--write-out');
  out.push({ path, subcommands: cmd.commands.map((c) => c.name()), flags, choices });
  for (const sub of cmd.commands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, path === '' ? cmd.options : inherited, out);
}

function quote(words: readonly string[]): string {
  return `'${words.join(' ')}'`;
}

/** The script for `source <(ctl completion bash)`, for the program as built. */
export function bashCompletion(program: Command, name = 'ctl'): string {
  const nodes: Node[] = [];
  walk(program, '', [], nodes);
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const subcommandCases = nodes.map((n) => `    ${quote([n.path])}) echo ${quote(n.subcommands)} ;;`).join('\n');
  const flagCases = nodes.map((n) => `    ${quote([n.path])}) echo ${quote(n.flags)} ;;`).join('\n');
  const choiceCases = nodes
    .flatMap((n) => {
      const flags = [...n.choices.keys()];
      if (n.choices.has('--output')) flags.push('-w', '--write-out');
      return flags.map((f) => `    ${quote([`${n.path}|${f}`])}) echo ${quote(n.choices.get(f) ?? n.choices.get('--output') ?? [])} ;;`);
    })
    .join('\n');
  return `# bash completion for ${name}: source <(${name} completion bash)
${fn}_subcommands() {
  case "$1" in
${subcommandCases}
  esac
}
${fn}_flags() {
  case "$1" in
${flagCases}
  esac
}
${fn}_choices() {
  case "$1" in
${choiceCases}
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" word i
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case " $(${fn}_subcommands "$path") " in
      *" $word "*) path="\${path:+$path }$word" ;;
    esac
  done
  local values
  values="$(${fn}_choices "$path|$prev")"
  if [ -n "$values" ]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_flags "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(${fn}_subcommands "$path")" -- "$cur"))
  fi
}
complete -F ${fn} ${name}
`;
}

export function registerCompletion(program: Command, session: Session): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(ctl completion bash)')
    .argument('<shell>', `one of: ${COMPLETION_SHELLS.join(', ')}`)
    .action((shell: string) => {
      if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(`expected a shell among ${COMPLETION_SHELLS.join(', ')}, found ${JSON.stringify(shell)}`);
      }
      session.io.out(bashCompletion(program));
    });
}
