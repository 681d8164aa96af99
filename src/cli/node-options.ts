/**
 * The node options an operator gave this process: on the node command line (`process.execArgv`)
 * or in `NODE_OPTIONS`, which node applies as well but leaves out of execArgv. The binaries'
 * young-generation cap steps aside for either. (V8's tier-up budget, server-tiering.ts, is not
 * allowed in NODE_OPTIONS, so the command line is all it reads.)
 */
export function operatorNodeOptions(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const fromEnv = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((a) => a.length > 0);
  return [...execArgv, ...fromEnv];
}
