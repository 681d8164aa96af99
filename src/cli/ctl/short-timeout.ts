/**
 * Why no endpoint answered when ctl's own --timeout may be the cause. A connection gets half of
 * --timeout to come up (at most 2.5 s); on a loaded host it can take longer than a short one
 * allows, and `ctl --timeout 50ms status` then said only `no endpoint answered; tried A (no
 * connection within 25ms), ...` (exit 3), as for controllers that are down (ops55). The exit
 * code stays 3: ctl cannot tell a slow connection from a host that never answers.
 */
import { defaultConnectTimeoutMs } from '../../api/client.js';
import { UnreachableError } from '../../api/failover.js';
import { formatDuration } from '../../config/duration.js';

/** What the hint needs of ctl's session; asked only for an UnreachableError, once the flags were read. */
export interface TimeoutSettings {
  endpoints(): readonly string[];
  timeoutMs(): number;
}

/** A hint to append when every endpoint was silent within a connect timeout that --timeout shortened; else null. */
export function shortTimeoutHint(err: unknown, session: TimeoutSettings): string | null {
  if (!(err instanceof UnreachableError)) return null;
  const endpoints = session.endpoints();
  if (endpoints.length === 0 || endpoints.some((e) => !err.silent.includes(e))) return null;
  const timeoutMs = session.timeoutMs();
  const connectMs = defaultConnectTimeoutMs(timeoutMs);
  // At the cap a longer --timeout would not wait longer for a connection: nothing to suggest.
  if (connectMs >= defaultConnectTimeoutMs(Number.POSITIVE_INFINITY)) return null;
  return `no connection came up within ${formatDuration(connectMs)}, half of --timeout ${formatDuration(timeoutMs)}: if the controllers are up, connecting takes longer here (a loaded host or a slow network); raise --timeout`;
}
