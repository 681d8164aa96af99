/** Turns zod's issues into operator-facing problems: YAML key paths and reasons in plain words. */
import { z } from 'zod';
import { describeValue } from './schema.js';

export type PathSegment = string | number;

export interface LocatedProblem {
  readonly path: readonly PathSegment[];
  readonly reason: string;
}

/** `cluster.nodes[1].address` from ['cluster', 'nodes', 1, 'address']. */
export function formatKeyPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return '(root)';
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    return acc === '' ? seg : `${acc}.${seg}`;
  }, '');
}

const EXPECTED_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  boolean: 'true or false',
  number: 'a number',
  int: 'a whole number',
};

export function problemsFromIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): LocatedProblem[] {
  return issues.flatMap((issue) => fromIssue(schema, issue, issues));
}

/**
 * A key beside a missing required one that is a misspelling of it: `adress:` where `address:` is
 * required. zod reports the missing key first, and that problem alone was printed, `required key
 * is missing`, without the did-you-mean an unknown key elsewhere gets (ops55).
 */
function misspelledAs(missing: string, parent: readonly PathSegment[], issues: readonly z.core.$ZodIssue[]): string | null {
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys' || !samePath(issue.path, parent)) continue;
    const typo = issue.keys.find((key) => closest(key, [missing]) === missing);
    if (typo !== undefined) return typo;
  }
  return null;
}

function samePath(a: readonly PropertyKey[], b: readonly PathSegment[]): boolean {
  return a.length === b.length && a.every((seg, i) => seg === b[i]);
}

function fromIssue(schema: z.ZodType, issue: z.core.$ZodIssue, all: readonly z.core.$ZodIssue[]): LocatedProblem[] {
  const path = issue.path.filter((seg): seg is PathSegment => typeof seg !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, path);
    return issue.keys.map((key) => ({ path: [...path, key], reason: unknownKeyReason(key, known) }));
  }
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
    if (!('input' in issue) || issue.input === undefined) {
      const key = path.at(-1);
      const typo = typeof key === 'string' ? misspelledAs(key, path.slice(0, -1), all) : null;
      const hint = typo === null ? '' : `; found "${typo}" beside it (a misspelling of "${key}"?)`;
      return [{ path, reason: `required key is missing (expected ${expected})${hint}` }];
    }
    return [{ path, reason: `expected ${expected}, found ${describeValue(issue.input)}` }];
  }
  // Every other issue comes from a check in schema.ts that words its own message.
  return [{ path, reason: issue.message }];
}

function unknownKeyReason(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  const hint = guess === null ? '' : ` (did you mean "${guess}"?)`;
  const list = known.length === 0 ? '' : `; expected one of: ${known.join(', ')}`;
  return `unknown key "${key}"${hint}${list}`;
}

/** The keys the schema allows at `path`, to list them next to an unknown one. */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let current: unknown = schema;
  for (const seg of path) {
    current = unwrap(current);
    if (current instanceof z.ZodObject && typeof seg === 'string') current = current.shape[seg];
    else if (current instanceof z.ZodArray && typeof seg === 'number') current = current.element;
    else return [];
  }
  current = unwrap(current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else {
      return current;
    }
  }
}

/** The known name within edit distance 2 of a typo, the closest first found. */
export function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
