/**
 * `ctl resources [--refresh] [-o table|json]`: each member's machine (CPUs, CPU flags, memory,
 * free disk, load) and the CPU flags common to the reachable ones. The controller that answers
 * asks every member directly; what does not change is cached per member for
 * controller.resources_cache_ttl (default 24h), and --refresh fetches it again. A member that
 * cannot be reached is listed as such, with its last cached figures: the command still exits 0.
 */
import { Option, type Command } from 'commander';
import { fetchResources } from '../../api/autopilot-client.js';
import { RESOURCES_FORMATS, renderResources, type ResourcesFormat } from '../resources-output.js';
import type { Session } from './context.js';

export function registerMachineResources(program: Command, session: Session): void {
  program
    .command('resources')
    .description("each controller's machine resources (CPUs, CPU flags, memory cached per member; disk free and load live)")
    .option('--refresh', 'fetch every member again, whatever the cache holds', false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(RESOURCES_FORMATS).default('table'))
    .action(async (opts: { readonly refresh: boolean; readonly output: ResourcesFormat }) => {
      session.io.out(renderResources(await fetchResources(session.client(), opts.refresh), opts.output));
    });
}
