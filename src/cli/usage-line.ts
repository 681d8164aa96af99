/**
 * A command-line mistake of `controller`, `agent` or an offline tool (`controller recover`,
 * `controller restore`) as one stderr line named like every other failure of that binary,
 * `controller: required option ...`, instead of commander's `error: ...` and its usage text.
 */
export function usageLine(binary: string): (text: string, write: (line: string) => void) => void {
  return (text, write) => write(`${binary}: ${(text.split('\n')[0] ?? '').replace(/^error: /, '')}\n`);
}
