/**
 * Text from outside (an agent's NACK error, an audit reason, a resource's name) made safe for a
 * terminal line. A newline in a NACK error added rows of its own to `ctl list agents`, and an
 * escape sequence could move the cursor over the agent's real row. Control characters (C0,
 * DEL, C1) and the bidirectional overrides are shown as escapes; `-o json` and `-o yaml` escape
 * the same characters (jsonText, yamlText).
 */
import YAML from 'yaml';

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** Of those, the ones JSON.stringify leaves as they are: it escapes C0 only. */
const UNESCAPED_BY_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `-o json`'s text: JSON.stringify's, with DEL, the C1 controls and the bidirectional overrides
 * written as \uXXXX escapes too. The same value to any parser; on a terminal (`ctl list agents -o
 * json` read as it is) an agent's NACK error holding U+202E no longer reverses the line.
 */
export function jsonText(value: unknown, indent?: number): string {
  return terminalSafeJson(JSON.stringify(value, null, indent));
}

/** JSON text with those characters escaped as well: the same value to a parser. */
export function terminalSafeJson(json: string): string {
  return json.replace(UNESCAPED_BY_JSON, unicodeEscape);
}

/**
 * pino's hooks for the binaries' logs, read on terminals (`journalctl -u controller`): each
 * JSON line goes out with those characters escaped as well (pino escapes C0 only), so an agent's
 * NACK error or a refused service's name logged with U+202E does not reverse the line.
 */
export const TERMINAL_SAFE_LOG_HOOKS = { streamWrite: terminalSafeJson } as const;

/**
 * `-o yaml`'s text, as the yaml library writes it, unless a string holds one of those characters
 * (YAML counts the bidirectional overrides as printable and wrote them as they are): then every
 * string and key is double-quoted, where a \uXXXX escape means the character, and each is escaped.
 * The same value to any parser; ordinary output keeps its plain style.
 */
export function yamlText(value: unknown): string {
  const plain = YAML.stringify(value);
  if (plain.search(UNESCAPED_BY_JSON) === -1) return plain;
  return YAML.stringify(value, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' }).replace(UNESCAPED_BY_JSON, unicodeEscape);
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? unicodeEscape(c));
}
