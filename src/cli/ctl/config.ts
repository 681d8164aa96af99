/** `ctl config get|set`: the cluster-wide settings, the same on every replica (docs/reference.md). */
import { Option, type Command } from 'commander';
import type { ConfigJson } from '../../api/answers.js';
import { plainTable } from '../plain-table.js';
import { changeOutputOption, printChange, type ChangeFormat } from './change-output.js';
import type { Session } from './context.js';
import { jsonText, yamlText } from '../printable.js';

const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
type Format = (typeof FORMATS)[number];

function render(config: ConfigJson, format: Format): string {
  switch (format) {
    case 'json':
      return `${jsonText(config, 2)}\n`;
    case 'yaml':
      return yamlText(config);
    case 'table':
      return plainTable(
        ['KEY', 'VALUE', 'DEFAULT'],
        config.settings.map((s) => [s.key, s.value, s.default]),
      );
    case 'wide':
      // What each setting does, which the narrow table leaves to docs/reference.md.
      return plainTable(
        ['KEY', 'VALUE', 'DEFAULT', 'WHAT'],
        config.settings.map((s) => [s.key, s.value, s.default, s.help]),
      );
    default: {
      const never: never = format;
      return never;
    }
  }
}

export function registerConfig(program: Command, session: Session): void {
  const config = program.command('config').description('read or change the cluster-wide settings');

  config
    .command('get')
    .description('every cluster-wide setting, or the one named KEY (plain value)')
    .argument('[key]')
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS))
    .action(async (key: string | undefined, opts: { readonly output?: Format }) => {
      const answer = await session.client().configGet(key);
      if (!answer.initialized) session.io.err(`warning: no leader has written the cluster settings yet; built-in defaults shown`);
      const only = answer.settings[0];
      // One key without -o prints the bare value, for scripts: `ctl config get services.vip_cidr`.
      if (key !== undefined && opts.output === undefined && only !== undefined) session.io.out(`${only.value}\n`);
      else session.io.out(render(answer, opts.output ?? 'table'));
    });

  config
    .command('set')
    .description('change cluster-wide setting KEY to VALUE (e.g. services.vip_cidr 10.0.0.0/16); safe to repeat')
    .argument('<key>')
    .argument('<value>')
    .addOption(changeOutputOption())
    .action(async (key: string, value: string, opts: { readonly output: ChangeFormat }) => {
      const r = await session.client().configSet(key, value);
      const text = r.changed ? `${r.key} = ${r.value}\n` : `${r.key} is already ${r.value}; nothing changed\n`;
      printChange(session, opts.output, text, { key: r.key, value: r.value, changed: r.changed });
    });
}
