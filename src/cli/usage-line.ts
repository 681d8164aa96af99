/**
 * Command-line mistakes of `controller`, `agent` and the offline tools (`controller recover`,
 * `controller restore`): one stderr line named like every other failure of that binary.
 */
import type { Command } from 'commander';

/** `controller: required option ...` instead of commander's `error: ...` and its usage text. */
export function usageLine(binary: string): (text: string, write: (line: string) => void) => void {
  // Commander puts a suggestion on a line of its own: `(Did you mean --config?)`.
  return (text, write) => write(`${binary}: ${text.trim().split(/\s*\n\s*/).join(' ').replace(/^error: /, '')}\n`);
}

/**
 * Runs `parse` with unknown options named before missing required ones: commander checks the
 * required ones first, so `controller --confg c.yaml --id c1` said `--config` was missing
 * instead of `unknown option '--confg' (Did you mean --config?)`, as ctl says.
 */
export function parseUnknownOptionsFirst(command: Command, parse: () => void): void {
  const required = command.options.filter((o) => o.mandatory);
  for (const o of required) o.mandatory = false;
  try {
    parse();
  } finally {
    for (const o of required) o.mandatory = true;
  }
  const missing = required.find((o) => command.getOptionValue(o.attributeName()) === undefined);
  if (missing !== undefined) command.error(`error: required option '${missing.flags}' not specified`, { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
}
