/**
 * `ctl watch KEY [--prefix] [--rev N]`: every change to KEY (or to the keys under it) as it
 * happens, until Ctrl-C, which ends it cleanly (exit 0). Text as etcdctl prints it: the event
 * type, the key and, for a PUT, the value, one per line (a key or value that would forge a line or
 * drive the terminal JSON-quoted, as `kv get --prefix` prints it); JSON Lines with -o json. When the
 * answering controller stops, the watch moves to the next endpoint and resumes after the last
 * change printed (a warning on stderr says so); it exits 3 only when no endpoint answers.
 */
import { Option, type Command } from 'commander';
import type { WatchEventEntry } from '../../api/operator-answers.js';
import { keyValueJson } from '../kv-json.js';
import { keyArg, untilStopped, revisionArg, type Session } from './context.js';
import { shownKey, shownValue } from './listing-text.js';
import { jsonText } from '../printable.js';

const FORMATS = ['text', 'json'] as const;
type Format = (typeof FORMATS)[number];

export function renderWatchEvent(e: WatchEventEntry, format: Format): string {
  switch (format) {
    case 'json':
      return `${jsonText(e.type === 'PUT' ? { type: e.type, ...keyValueJson(e.key, e.value, e.revision) } : { type: e.type, key: e.key, revision: e.revision })}\n`;
    case 'text':
      // Keys and values quoted as `kv get --prefix` quotes them: a key's newline would forge an event, ESC reach the terminal.
      return e.type === 'PUT' ? `PUT\n${shownKey(e.key)}\n${shownValue(e.value)}\n` : `DELETE\n${shownKey(e.key)}\n`;
    default: {
      const never: never = format;
      return never;
    }
  }
}

export function registerWatch(program: Command, session: Session): void {
  program
    .command('watch')
    .description('print changes to KEY (or, with --prefix, to every key under it) until interrupted')
    .argument('<key>', 'the key (UTF-8 text)', keyArg)
    .option('--prefix', 'watch every key starting with KEY', false)
    .option('--rev <revision>', 'start at this revision (earlier changes the node still remembers are replayed); default: from now', revisionArg)
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('text'))
    .action(async (key: string, opts: { readonly prefix: boolean; readonly rev?: number; readonly output: Format }) => {
      const abort = new AbortController();
      const stop = untilStopped(session.io, () => abort.abort());
      try {
        await session
          .operator()
          .watch(
            {
              key,
              prefix: opts.prefix,
              startRevision: opts.rev ?? 0,
              signal: abort.signal,
              onResume: (lost, from) => session.io.err(`warning: ${lost}; resuming the watch from revision ${from} on the next endpoint that answers`),
            },
            (e) => session.io.out(renderWatchEvent(e, opts.output)),
          );
      } finally {
        stop();
      }
    });
}
