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
import { shownKey, shownValue } from './listing-text.js';
import { jsonText } from '../printable.js';

export function limitArg(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_RANGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_RANGE_LIMIT}, found ${JSON.stringify(text)}`);
  }
  return n;
}

export function renderRange(answer: RangeAnswer, format: 'text' | 'json'): string {
  if (format === 'json') {
    const kvs = answer.kvs.map((kv) => keyValueJson(kv.key, kv.value, kv.revision));
    return `${jsonText({ kvs, count: kvs.length, more: answer.more, revision: answer.revision })}\n`;
  }
  return answer.kvs.map((kv) => `${shownKey(kv.key)}\n${shownValue(kv.value)}\n`).join('');
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
