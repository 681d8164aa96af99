/** `ctl kv put|get|del`: the replicated key-value store. Values are bytes. */
import { Option, type Command } from 'commander';
import { UsageError } from '../../api/errors.js';
import { KV_FORMATS, renderKv, type KvFormat } from '../output.js';
import { changeOutputOption, printChange, type ChangeFormat } from './change-output.js';
import { keyArg, pathArg, revisionArg, type Session } from './context.js';
import { limitArg, printRange } from './kv-range.js';
import { readValueInput } from './value-input.js';

export function registerKv(program: Command, session: Session): void {
  const kv = program.command('kv').description('read and write keys');

  kv.command('put')
    .description('write VALUE (or the bytes of --file) under KEY and print the new revision')
    .argument('<key>', 'the key (UTF-8 text)', keyArg)
    .argument('[value]')
    .option('--file <file>', "the value is this file's bytes, any bytes ('-': stdin); for large or binary values", pathArg)
    .option('--if-revision <n>', 'compare-and-set: write only if the key is at revision N (0: must not exist)', revisionArg)
    .addOption(changeOutputOption())
    .action(async (key: string, value: string | undefined, opts: { readonly ifRevision?: number; readonly file?: string; readonly output: ChangeFormat }) => {
      if ((value === undefined) === (opts.file === undefined)) {
        throw new UsageError(`expected a VALUE or --file, found ${value === undefined ? 'neither' : 'both'}`);
      }
      let bytes: Uint8Array | string;
      if (opts.file === undefined) {
        bytes = value ?? '';
      } else {
        const file = opts.file;
        // Nothing piped in: ctl would wait in silence for the operator to type the value.
        if (file === '-' && session.io.stdinIsTerminal === true) session.io.err('reading the value from the terminal until end of input (Ctrl-D); pipe it in or give --file FILE');
        bytes = await (session.io.read ?? readValueInput)(file).catch((err: unknown) => {
          if (err instanceof UsageError) throw err; // over the limit: it says so itself
          throw new UsageError(`cannot read the value from ${file === '-' ? 'stdin' : file}: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
      const { revision } = await session.client().put(key, bytes, { ifRevision: opts.ifRevision });
      printChange(session, opts.output, `${revision}\n`, { key, revision });
    });

  kv.command('get')
    .description('print the value of KEY (linearizable read); exit 4 when it does not exist; --prefix: every key under KEY')
    .argument('<key>', 'the key (UTF-8 text)', keyArg)
    .addOption(new Option('-o, --output <format>', 'output format: text is the raw value; json has valueBase64 for a value that is not UTF-8').choices(KV_FORMATS).default('text'))
    .option('--serializable', "answer from the node's local state without a quorum round", false)
    .option('--prefix', 'print every key starting with KEY (key, then value, one per line), in key order', false)
    .option('--limit <n>', 'with --prefix: at most N keys (default 1000)', limitArg)
    .action(async (key: string, opts: { readonly output: KvFormat; readonly serializable: boolean; readonly prefix: boolean; readonly limit?: number }) => {
      if (opts.prefix) {
        await printRange(session, key, { limit: opts.limit, serializable: opts.serializable, output: opts.output });
        return;
      }
      if (opts.limit !== undefined) throw new UsageError('--limit needs --prefix');
      const entry = await session.client().get(key, { serializable: opts.serializable });
      session.io.out(renderKv(entry, opts.output));
    });

  kv.command('del')
    .description('delete KEY and print the new revision')
    .argument('<key>', 'the key (UTF-8 text)', keyArg)
    .option('--if-revision <n>', 'delete only if the key is at revision N', revisionArg)
    .addOption(changeOutputOption())
    .action(async (key: string, opts: { readonly ifRevision?: number; readonly output: ChangeFormat }) => {
      const { revision } = await session.client().delete(key, { ifRevision: opts.ifRevision });
      printChange(session, opts.output, `${revision}\n`, { key, revision });
    });
}
