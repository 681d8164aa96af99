/**
 * `ctl apply -f FILE`, `ctl get services|routes [NAME]`, `ctl delete service|route NAME`: the
 * resources the cluster serves to its agents. `ctl delete agent ID` forgets an offline agent. A file is applied whole, as one revision, or not
 * at all; a file that changes nothing writes nothing and prints the current revision.
 */
import { Argument, Option, type Command } from 'commander';
import YAML from 'yaml';
import { UsageError } from '../../api/errors.js';
import { MAX_APPLY_RESOURCES, parseResourceInput, resourceKey, type ResourceInput, type ResourceType } from '../../statemachine/index.js';
import { renderResources } from '../agents-output.js';
import { InputTooLargeError, readBoundedSync } from '../../util/bounded-read.js';
import { LIST_FORMATS, type ListFormat } from '../output.js';
import { changeOutputOption, printChange, type ChangeFormat } from './change-output.js';
import { pathArg, type Session } from './context.js';
import { jsonText } from '../printable.js';

/**
 * The most a resources file may hold: an apply carries at most 2 MiB of resources as JSON, which
 * no YAML of this size falls short of. A larger file (a 3 GB one took 48 s and 4.25 GB) is
 * refused from its size, or once that much is read from a pipe.
 */
export const MAX_RESOURCES_FILE_BYTES = 16 * 1024 * 1024;

/** A resources file: a YAML (or JSON) list of { kind, name, spec, labels }; '-' reads stdin. */
export function readResourcesFile(file: string, readStdin: () => string = () => readBoundedSync('-', MAX_RESOURCES_FILE_BYTES).toString('utf8')): ResourceInput[] {
  let text: string;
  try {
    text = file === '-' ? readStdin() : readBoundedSync(file, MAX_RESOURCES_FILE_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof InputTooLargeError) throw new UsageError(`${file}: expected a resources file of at most ${MAX_RESOURCES_FILE_BYTES} bytes, found ${err.found ?? 'more'}`);
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    throw new UsageError(`${file}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) throw new UsageError(`${file}: expected a list of resources, found an empty file`);
  if (!Array.isArray(doc)) throw new UsageError(`${file}: expected a list of { kind, name, spec, labels }, found ${typeof doc}`);
  if (doc.length > MAX_APPLY_RESOURCES) throw new UsageError(`${file}: expected at most ${MAX_APPLY_RESOURCES} resources, found ${doc.length}`);
  const seen = new Set<string>();
  return (doc as readonly unknown[]).map((item, i) => {
    const r = parseResourceInput(item, `${file}: item ${i + 1}`, (m) => new UsageError(m));
    const key = resourceKey(r.kind, r.name);
    if (seen.has(key)) throw new UsageError(`${file}: ${r.kind} ${JSON.stringify(r.name)} appears twice`);
    seen.add(key);
    return r;
  });
}

const PLURAL: Readonly<Record<string, ResourceType>> = { services: 'service', service: 'service', svc: 'service', routes: 'route', route: 'route' };

export function registerResources(program: Command, session: Session): void {
  program
    .command('apply')
    .description('apply a resources file (services and routes) as one revision and print it')
    .requiredOption('-f, --file <file>', "a YAML list of { kind: service|route, name, spec, labels }; '-' for stdin", pathArg)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { readonly file: string; readonly output: 'text' | 'json' }) => {
      // Nothing piped in: ctl would wait in silence for the operator to type the file.
      if (opts.file === '-' && session.io.stdinIsTerminal === true) session.io.err('reading the resources from the terminal until end of input (Ctrl-D); pipe them in or give -f FILE');
      const resources = readResourcesFile(opts.file);
      const answer = await session.mesh().apply(resources);
      session.io.out(opts.output === 'json' ? `${jsonText(answer)}\n` : `${answer.revision}\n`);
    });

  program
    .command('get')
    .description('show services or routes (linearizable); exit 4 when NAME does not exist')
    .addArgument(new Argument('<kind>', 'services or routes').choices(['services', 'routes', 'service', 'route']))
    .argument('[name]')
    .addOption(new Option('-o, --output <format>', 'output format').choices(LIST_FORMATS).default('table'))
    .option('--serializable', "answer from the node's local state without a quorum round", false)
    .action(async (kind: string, name: string | undefined, opts: { readonly output: ListFormat; readonly serializable: boolean }) => {
      const resources = await session.mesh().get(PLURAL[kind]!, name ?? '', { serializable: opts.serializable });
      session.io.out(renderResources(resources, opts.output));
    });

  program
    .command('delete')
    .description(
      'delete a service or a route and print the new revision (a service a route names is refused); ' +
        'delete agent ID forgets an offline agent: its record, its declaration and its endpoints (an online one is refused)',
    )
    .addArgument(new Argument('<kind>', 'service, route or agent').choices(['service', 'route', 'services', 'routes', 'agent']))
    .argument('<name>', 'the resource name, or the agent id')
    .addOption(changeOutputOption())
    .action(async (kind: string, name: string, opts: { readonly output: ChangeFormat }) => {
      if (kind === 'agent') {
        await session.mesh().forgetAgent(name);
        printChange(session, opts.output, `agent ${name} forgotten\n`, { kind: 'agent', name });
        return;
      }
      const type = PLURAL[kind]!;
      const { revision } = await session.mesh().delete(type, name);
      printChange(session, opts.output, `${revision}\n`, { kind: type, name, revision });
    });
}
