/**
 * How tests start the product's processes (controller, ctl, agent, the chaos CLI): as operators
 * run them, without the test runner's module hooks. Under tap's runner (`npx tap FILE`; `npm
 * test` has its own, test/runner/run-tests.ts) tap puts its processinfo loader into every
 * child's NODE_OPTIONS, through a spawn hook that adds it back to any env a test passes; that
 * loader sends every module load through a hooks thread, which nearly doubled a controller's
 * start-up CPU (1.5 s to 2.7 s to its first leader) and a `ctl` run's (0.5 s to 1.0 s). `env`
 * sets NODE_OPTIONS again after the hook has run, keeping everything else it held.
 */

/** NODE_OPTIONS without tap's loaders (`--import`/`--loader` of @tapjs/...). */
export function withoutTapHooks(nodeOptions: string): string {
  return nodeOptions
    .split(/\s+/)
    .filter((opt) => opt !== '' && !/^"?--(import|loader|experimental-loader)=.*@tapjs\//.test(opt))
    .join(' ');
}

/** The command and arguments that run `node [nodeArgs] script args` without tap's hooks. */
export function nodeCommand(
  script: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): { readonly command: string; readonly args: string[] } {
  const options = withoutTapHooks(env.NODE_OPTIONS ?? '');
  return { command: 'env', args: [`NODE_OPTIONS=${options}`, process.execPath, ...nodeArgs, script, ...args] };
}
