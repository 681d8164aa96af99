/**
 * Text from outside (an agent's NACK error, an audit reason, a resource's name) made safe for a
 * terminal line. A newline in a NACK error added rows of its own to `ctl list agents`, and an
 * escape sequence could move the cursor over the agent's real row. Control characters (C0,
 * DEL, C1) and the bidirectional overrides are shown as escapes; `-o json` needs none of this,
 * as JSON escapes them itself.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
