/** One thing wrong with a config file, located by its YAML key path. */
export interface ConfigProblem {
  /** Dotted path with array indices, e.g. `cluster.nodes[1].address`; `(file)`/`(yaml)`/`(root)` for whole-file problems. */
  readonly keyPath: string;
  readonly reason: string;
  /** 1-based line in the YAML file, when known. */
  readonly line: number | null;
}

export type ConfigProblems = readonly [ConfigProblem, ...ConfigProblem[]];

/**
 * A config the controller must not start with. The message is one line,
 * `<file>: <keyPath>: <reason>` (plus ` (line N)` when known), for the first problem;
 * `problems` holds all of them, in file order where known.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  /** The CLI exit code for usage and config errors (docs/reference.md, "Exit codes"). */
  readonly exitCode = 2;
  readonly keyPath: string;
  readonly reason: string;
  readonly line: number | null;

  constructor(
    readonly file: string,
    readonly problems: ConfigProblems,
    options?: { readonly cause?: unknown },
  ) {
    const [first] = problems;
    super(formatProblem(file, first), options);
    this.keyPath = first.keyPath;
    this.reason = first.reason;
    this.line = first.line;
  }

  /** Every problem, one per line, each shaped like `message`. */
  describeAll(): string {
    return this.problems.map((p) => formatProblem(this.file, p)).join('\n');
  }
}

function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.line === null ? '' : ` (line ${problem.line})`;
  // Reasons may quote other libraries' multi-line messages; the contract wants one line.
  const reason = problem.reason.replace(/\s*\n\s*/g, ' ');
  return `${file}: ${problem.keyPath}: ${reason}${where}`;
}
