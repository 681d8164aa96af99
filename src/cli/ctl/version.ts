/** `ctl version`: this ctl's version, the answering controller's, and the cluster version it reports. */
import { Option, type Command } from 'commander';
import { VERSION } from '../../node/version.js';
import type { Session } from './context.js';
import { jsonText } from '../printable.js';

const FORMATS = ['text', 'json'] as const;
type Format = (typeof FORMATS)[number];

export interface VersionJson {
  readonly ctl: string;
  /** null when no endpoint answered. */
  readonly server: string | null;
  readonly answeredBy: string | null;
  /** `MAJOR.MINOR` the cluster runs at; null when none answered or the server predates it. */
  readonly clusterVersion: string | null;
}

export function registerVersion(program: Command, session: Session): void {
  program
    .command('version')
    .description("print ctl's version, the answering controller's and the cluster version (exit 0 even when none answers)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('text'))
    .action(async (opts: { readonly output: Format }) => {
      let answer: VersionJson = { ctl: VERSION, server: null, answeredBy: null, clusterVersion: null };
      try {
        const st = await session.client().status();
        answer = { ...answer, server: st.version, answeredBy: st.id, clusterVersion: st.clusterVersion };
      } catch (err) {
        // The client's own version is still worth printing: say why the server's is missing.
        session.io.err(`warning: no server version: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (opts.output === 'json') {
        session.io.out(`${jsonText(answer)}\n`);
        return;
      }
      const server = answer.server === null ? 'unknown (no endpoint answered)' : `${answer.server} (${answer.answeredBy ?? '?'})`;
      // The cluster version only beside a server's answer: without one there is nothing to say.
      const cluster = answer.server === null ? '' : `cluster version: ${answer.clusterVersion ?? 'unknown (the server does not report one)'}\n`;
      session.io.out(`ctl version: ${answer.ctl}\nserver version: ${server}\n${cluster}`);
    });
}
