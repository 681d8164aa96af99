/**
 * `ctl help [command...]`: the help of a command at any depth. Commander's own help command reads
 * one word, so `ctl help kv put` showed the help of `kv` (ops54); this one walks every word
 * (`ctl help member add` as `ctl member add --help`), and names the words it does not know.
 */
import { CommanderError, type Command } from 'commander';
import { EXIT_USAGE } from '../../api/errors.js';

/** The command the words name under `root`, or the first word it has no command for. */
export function commandAt(root: Command, words: readonly string[]): { readonly command: Command } | { readonly unknown: string } {
  let command = root;
  for (const word of words) {
    const next = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next === undefined) return { unknown: word };
    command = next;
  }
  return { command };
}

/** Replaces commander's one-word help command with one that walks the whole path. */
export function registerHelp(program: Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .description('display help for command (e.g. help kv put)')
    .argument('[command...]', 'the command and its subcommands')
    .action((words: string[]) => {
      const found = commandAt(program, words);
      if ('unknown' in found) {
        throw new CommanderError(EXIT_USAGE, 'commander.unknownCommand', `unknown command '${found.unknown}' in 'help ${words.join(' ')}' (see ctl --help)`);
      }
      found.command.outputHelp();
    });
}
