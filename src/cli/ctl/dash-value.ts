/**
 * `ctl config set services.vip_quarantine -1s` reaches commander as an unknown option '-1s':
 * a word that starts with '-' is an option, whatever follows. No ctl option starts with a digit,
 * so such a word was meant as a value (a negative number or duration): the error says so, and
 * shows the line with `--`, after which every word is a value.
 */

/** Shell-quoted when needed, so the suggested line can be pasted back. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The explanation to add to commander's "unknown option 'FLAG'", or null when FLAG looks like an option. */
export function dashValueHint(flag: string, argv: readonly string[]): string | null {
  if (!/^-\.?\d/.test(flag)) return null;
  const at = argv.indexOf(flag);
  const rest = argv.slice(at + 1);
  // After `--` later options would be read as values too: then the rule alone, no line.
  const line = at < 0 || rest.some((w) => w.startsWith('-')) ? null : ['ctl', ...argv.slice(0, at), '--', ...argv.slice(at)].map(shellWord).join(' ');
  return (
    "a value that starts with '-' is read as an option, and no duration or number ctl takes is negative; " +
    `to pass it as a value anyway, put -- before it${line === null ? ' (and every option before the --)' : `: ${line}`}`
  );
}
