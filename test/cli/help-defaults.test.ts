/**
 * Every default a binary's `--help` shows for an option that takes a value is a value the
 * option accepts: an operator who copies it back gets what they read. (`agents --report-every`
 * and `ctl member add --wait-timeout` showed their defaults in milliseconds without a unit, which
 * the duration parser refuses.) Walks each binary's command tree from its own help, so a new
 * command is checked without being listed here.
 *
 * ctl's tree (33 pages) is read in the test's process through runCtl, the function the binary
 * runs: a process per page was 0.2 s of CPU each, most of this file's 15 s. The binary is still
 * what is judged: its root page must be the page read here, and every command showing defaults
 * is run as the binary with all of them, its output (the page again) the page read here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { runCtl } from '../../src/cli/ctl/program.js';
import { runToExit, type RunResult } from '../helpers/run-to-exit.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BINARIES: Readonly<Record<string, string>> = {
  ctl: path.join(root, 'dist/bin/ctl.js'),
  controller: path.join(root, 'dist/bin/controller.js'),
  agent: path.join(root, 'dist/bin/agent.js'),
  agents: path.join(root, 'dist/src/agent/swarm-cli.js'),
  chaos: path.join(root, 'dist/chaos/chaos-cli.js'),
};
const RUN_TIMEOUT_MS = 30_000;

/** `ctl ARGV` run in this process, as the binary runs it (src/cli/ctl.ts). */
async function ctlHere(argv: readonly string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CtlIo = {
    env: {},
    out: (text) => void (stdout += typeof text === 'string' ? text : Buffer.from(text).toString()),
    err: (line) => void (stderr += `${line}\n`),
    now: () => Date.now(),
    onInterrupt: () => () => undefined,
  };
  const code = await runCtl(argv, io);
  return { code, stdout, stderr };
}

/** A help page with its wrapping undone: commander wraps to a terminal's width, and to 80 columns on a pipe. */
const unwrapped = (page: string): string => page.replace(/\s+/g, ' ').trim();

interface HelpEntry {
  readonly section: string;
  readonly text: string;
}

/** The entries of a commander help page, each with its wrapped lines joined, under their section. */
export function helpEntries(help: string): HelpEntry[] {
  const entries: { section: string; text: string }[] = [];
  let section = '';
  let current: { section: string; text: string } | null = null;
  for (const line of help.split('\n')) {
    if (/^\S/.test(line)) {
      section = line;
      current = null;
    } else if (/^ {2}\S/.test(line)) {
      current = { section, text: line.trim() };
      entries.push(current);
    } else if (current !== null && line.trim() !== '') {
      current.text += ` ${line.trim()}`;
    }
  }
  return entries;
}

/** An option entry's long flag and shown default, when it takes a value and shows a literal default. */
export function shownDefault(text: string): { readonly flag: string; readonly value: string } | null {
  const m = /^(?:-\w, )?(--[\w-]+) <[^>]+>.*[(,] ?default: ("[^"]*"|[^,)\s]+)\)$/.exec(text);
  if (m === null) return null;
  const raw = m[2]!;
  // `$CTL_TLS_CA` and the like name where the default comes from, not a value.
  if (raw.startsWith('$')) return null;
  return { flag: m[1]!, value: raw.startsWith('"') ? raw.slice(1, -1) : raw };
}

void t.test('the help parser reads flags, wrapped descriptions and quoted defaults', async (t) => {
  const help = ['Usage: x [options]', '', 'Options:', '  --a <duration>  wait this long', '                  (default: 5s)', '  -o, --output <format>  format (choices: "text", "json", default: "text")', '  --b <file>  a file (default: $B)', '  --c  a switch (default: false)', '', 'Commands:', '  sub  a subcommand'].join('\n');
  const entries = helpEntries(help);
  t.same(
    entries.filter((e) => e.section === 'Options:').map((e) => shownDefault(e.text)),
    [{ flag: '--a', value: '5s' }, { flag: '--output', value: 'text' }, null, null],
  );
  t.same(
    entries.filter((e) => e.section === 'Commands:').map((e) => e.text),
    ['sub  a subcommand'],
  );
});

void t.test('every default shown in --help is accepted by its option, in every command of every binary', async (t) => {
  let checked = 0;
  const walk = async (bin: string, argv: readonly string[]): Promise<void> => {
    const where = [bin, ...argv].join(' ');
    const help = bin === 'ctl' ? await ctlHere([...argv, '--help']) : await runToExit(BINARIES[bin]!, [...argv, '--help'], `${where} --help`, RUN_TIMEOUT_MS);
    t.equal(help.code, 0, `${where} --help exits 0`);
    if (bin === 'ctl' && argv.length === 0) {
      const binary = await runToExit(BINARIES.ctl!, ['--help'], 'ctl --help', RUN_TIMEOUT_MS);
      t.equal(unwrapped(binary.stdout), unwrapped(help.stdout), 'the ctl binary shows the root page read in this process');
    }
    const entries = helpEntries(help.stdout);
    const defaults = entries.flatMap((e) => (e.section.startsWith('Options') ? [shownDefault(e.text)] : [])).filter((d) => d !== null);
    // The options are parsed before --help is acted on, so a refused value exits non-zero. All
    // of a command's defaults go in one run (a process each took 21 s of CPU for the walk); only
    // a refused run is taken apart, one default at a time, to name the one refused.
    const all = defaults.length === 0 ? null : await runToExit(BINARIES[bin]!, [...argv, ...defaults.flatMap((d) => [d.flag, d.value]), '--help'], `${where} defaults`, RUN_TIMEOUT_MS);
    if (bin === 'ctl' && all?.code === 0) t.equal(unwrapped(all.stdout), unwrapped(help.stdout), `the ctl binary shows the page of ${where} read in this process`);
    for (const d of defaults) {
      const run = all?.code === 0 ? all : await runToExit(BINARIES[bin]!, [...argv, d.flag, d.value, '--help'], `${where} ${d.flag}`, RUN_TIMEOUT_MS);
      t.equal(run.code, 0, `${where} ${d.flag} ${d.value} (its shown default) is accepted${run.code === 0 ? '' : `: ${run.stderr.trim()}`}`);
      checked++;
    }
    for (const e of entries) {
      if (!e.section.startsWith('Commands')) continue;
      const name = e.text.split(/\s/)[0]!;
      if (name !== 'help') await walk(bin, [...argv, name]);
    }
  };
  for (const bin of Object.keys(BINARIES)) await walk(bin, []);
  // The premise: the walk found the defaults it is about (21 when written).
  t.ok(checked >= 20, `${checked} shown defaults checked`);
});
