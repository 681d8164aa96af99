/**
 * grpc-js sets the TLS server name to the target host even when it is an IP address, which
 * makes Node print DEP0123 on every TLS connection. The certificate is still checked against
 * the IP SAN, so the warning is noise to an operator: drop that one code, keep every other.
 */
const SILENCED = new Set(['DEP0123']);

const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;

function codeOf(args: readonly unknown[]): string | undefined {
  const [, second, third] = args;
  if (typeof second === 'object' && second !== null && 'code' in second) return String((second as { code: unknown }).code);
  return typeof third === 'string' ? third : undefined;
}

process.emitWarning = ((...args: unknown[]): void => {
  const code = codeOf(args);
  if (code !== undefined && SILENCED.has(code)) return;
  emit(...args);
}) as typeof process.emitWarning;
