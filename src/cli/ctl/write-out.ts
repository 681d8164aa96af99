/**
 * etcdctl spells the output flag `-w, --write-out`; ctl spells it `-o, --output`. Both work
 * everywhere: the etcdctl spelling is rewritten before commander parses the line, so each
 * command declares its format option once and `--help` shows one flag.
 */
export function aliasWriteOut(argv: readonly string[]): string[] {
  const out: string[] = [];
  let operands = false;
  for (const arg of argv) {
    if (operands || arg === '--') {
      // After `--` everything is an operand, e.g. a value that starts with `-w`.
      operands = true;
      out.push(arg);
    } else if (arg === '--write-out') out.push('--output');
    else if (arg.startsWith('--write-out=')) out.push(`--output=${arg.slice('--write-out='.length)}`);
    else if (arg === '-w') out.push('-o');
    else if (/^-w[^-]/.test(arg)) out.push(`-o${arg.slice(2)}`);
    else out.push(arg);
  }
  return out;
}
