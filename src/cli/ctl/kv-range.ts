/**
 * `ctl kv get PREFIX --prefix`: the keys under a prefix, in key order, read on the server and
 * bounded by --limit. Text as etcdctl prints it (key, then value, one per line); JSON with
 * `value` or `valueBase64` per key and `more` when the limit cut the answer short.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_RANGE_LIMIT } from '../../api/operator-proto.js';
import type { RangeAnswer } from '../../api/operator-answers.js';
import { keyValueJson } from '../kv-json.js';
import type { Session } from './context.js';

export function limitArg(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_RANGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_RANGE_LIMIT}, found ${JSON.stringify(text)}`);
  }
  return n;
}

/** C0 and C1 controls and DEL: a newline forges a row of the text listing, ESC reaches the terminal. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** A key: any control character, or a Unicode line separator. */
const keyControl = (code: number): boolean => isControl(code) || code === 0x2028 || code === 0x2029;
/** A value: its line breaks and tabs are its own; other controls are not. */
const valueControl = (code: number): boolean => isControl(code) && code !== 0x0a && code !== 0x0d && code !== 0x09;

/** A key or value as the text listing prints it: as it is, or JSON-quoted when it holds such characters (attack round 8). */
function shown(text: string, control: (code: number) => boolean): string {
  for (let i = 0; i < text.length; i++) if (control(text.charCodeAt(i))) return JSON.stringify(text);
  return text;
}

export function renderRange(answer: RangeAnswer, format: 'text' | 'json'): string {
  if (format === 'json') {
    const kvs = answer.kvs.map((kv) => keyValueJson(kv.key, kv.value, kv.revision));
    return `${JSON.stringify({ kvs, count: kvs.length, more: answer.more, revision: answer.revision })}\n`;
  }
  return answer.kvs.map((kv) => `${shown(kv.key, keyControl)}\n${shown(Buffer.from(kv.value).toString('utf8'), valueControl)}\n`).join('');
}

export async function printRange(
  session: Session,
  prefix: string,
  opts: { readonly limit?: number; readonly serializable: boolean; readonly output: 'text' | 'json' },
): Promise<void> {
  const answer = await session.operator().range(prefix, { limit: opts.limit, serializable: opts.serializable });
  session.io.out(renderRange(answer, opts.output));
  if (answer.more) {
    session.io.err(`warning: more keys start with ${JSON.stringify(prefix)}; shown the first ${answer.kvs.length} (raise --limit, at most ${MAX_RANGE_LIMIT})`);
  }
}
