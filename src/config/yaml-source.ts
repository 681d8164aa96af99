/** Parses the YAML text and remembers where each key was, so problems can cite a line. */
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { PathSegment } from './issues.js';

export type YamlSource =
  | { readonly ok: true; readonly data: unknown; readonly lineOf: (path: readonly PathSegment[]) => number | null }
  | { readonly ok: false; readonly reason: string; readonly line: number | null };

export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are errors (uniqueKeys); aliases are bounded so a small file cannot expand without limit.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const [error] = doc.errors;
  if (error !== undefined) {
    const message = error.code === 'MULTIPLE_DOCS' ? 'expected one document, found several (---)' : error.message;
    return { ok: false, reason: `invalid YAML: ${message}`, line: lineAt(error.pos[0]) };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    return { ok: false, reason: `invalid YAML: ${err instanceof Error ? err.message : String(err)}`, line: null };
  }
  return { ok: true, data, lineOf: (path) => lineOfPath(doc, path, lineAt) };
}

/** The line of the deepest node along `path` that exists: the key itself, or its nearest ancestor. */
function lineOfPath(doc: Document, path: readonly PathSegment[], lineAt: (offset: number) => number): number | null {
  let node: unknown = doc.contents;
  let line = isNode(node) && node.range !== undefined && node.range !== null ? lineAt(node.range[0]) : null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return line;
      if (isNode(pair.key) && pair.key.range) line = lineAt(pair.key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (isNode(node) && node.range) line = lineAt(node.range[0]);
    } else {
      return line;
    }
  }
  return line;
}
