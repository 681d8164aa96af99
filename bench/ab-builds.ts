/**
 * The builds an A/B bench measures (`--build NAME=DIST`, repeatable), and their rounds: builds
 * alternate round by round, so that a host's drift in load falls on each alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A build: its name in the results and its controller binary. */
export interface Build {
  readonly name: string;
  readonly controllerJs: string;
}

/** commander's flags, description, collector and default of the `--build` option. */
export const BUILD_OPTION = [
  '--build <name=dist>',
  'a build to measure: NAME=path of its dist directory (repeatable; default: this tree)',
  (v: string, acc: string[]) => [...acc, v],
  [] as string[],
] as const;

/**
 * The builds `specs` name (NAME=DIST each), or the build that `benchUrl` (a bench's
 * import.meta.url) belongs to; each must hold bin/controller.js. `fail` reports a usage error.
 */
export function buildsNamed(specs: readonly string[], benchUrl: string, fail: (message: string) => never): Build[] {
  const own = path.resolve(path.dirname(fileURLToPath(benchUrl)), '..');
  return (specs.length > 0 ? specs : [`this=${own}`]).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq < 1) fail(`--build: expected NAME=DIST, found ${JSON.stringify(spec)}`);
    const name = spec.slice(0, eq);
    const controllerJs = path.resolve(spec.slice(eq + 1), 'bin/controller.js');
    if (!fs.existsSync(controllerJs)) fail(`--build ${name}: expected ${controllerJs}`);
    return { name, controllerJs };
  });
}

/**
 * `rounds` rounds of `measure` on every build in turn, each announced on stderr (`what`) and its
 * result printed as a JSON line on stdout; the results in the order measured.
 */
export async function alternate<R>(builds: readonly Build[], rounds: number, what: string, measure: (build: Build) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const b of builds) {
      process.stderr.write(`round ${r + 1}: ${b.name}, ${what}...\n`);
      const res = await measure(b);
      results.push(res);
      process.stdout.write(`${JSON.stringify(res)}\n`);
    }
  }
  return results;
}
