/**
 * What a command that changes the cluster prints: one line for people (`-o text`, the default),
 * or one JSON object for scripts (`-o json`) carrying the same facts, so that a script never
 * parses the line. etcdctl's put, del and member commands take `-w json` alike.
 */
import { Option } from 'commander';
import type { Session } from './context.js';
import { jsonText } from '../printable.js';

export const CHANGE_FORMATS = ['text', 'json'] as const;
export type ChangeFormat = (typeof CHANGE_FORMATS)[number];

export function changeOutputOption(): Option {
  return new Option('-o, --output <format>', 'output format: text, or json (one object) for scripts').choices(CHANGE_FORMATS).default('text');
}

/** `text` ends in a newline; the JSON object is printed on one line. */
export function printChange(session: Session, format: ChangeFormat, text: string, json: Readonly<Record<string, unknown>>): void {
  session.io.out(format === 'json' ? `${jsonText(json)}\n` : text);
}
