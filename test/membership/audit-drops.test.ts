/**
 * Round 6's F5: the record of audit events a controller could not write. The summary is what the
 * Audit stream's note says; the log lines come at the first loss, then at most once a minute.
 */
import t from 'tap';
import { AUDIT_DROP_LOG_INTERVAL_MS, AuditDrops, type AuditDropSummary } from '../../src/membership/audit-drops.js';

void t.test('nothing lost: no summary', async (t) => {
  t.equal(new AuditDrops().summary(), null);
});

void t.test('the summary counts every loss, from the first to the latest, with the latest cause', async (t) => {
  const drops = new AuditDrops();
  drops.record('EPERM', 1_000);
  drops.record('EIO', 5_000);
  t.strictSame(drops.summary(), { count: 2, firstMs: 1_000, lastMs: 5_000, cause: 'EIO' });
});

void t.test('the first loss is logged, then at most one line a minute carrying the count since the last', async (t) => {
  const drops = new AuditDrops();
  t.strictSame(drops.record('EPERM', 0), { first: true, dropped: 1, total: 1, cause: 'EPERM' }, 'the first, with its cause');
  for (let i = 1; i <= 50; i++) t.equal(drops.record('EPERM', i * 1_000), null, `no line for loss ${i + 1} within the minute`);
  t.strictSame(drops.record('EPERM', AUDIT_DROP_LOG_INTERVAL_MS), { first: false, dropped: 51, total: 52, cause: 'EPERM' }, 'a minute on: one line with the count');
  t.equal(drops.record('EPERM', AUDIT_DROP_LOG_INTERVAL_MS + 1), null);
});

void t.test('followers hear each loss with the summary so far; unsubscribed, no more', async (t) => {
  const drops = new AuditDrops();
  const heard: AuditDropSummary[] = [];
  const stop = drops.follow((s) => heard.push(s));
  drops.record('EPERM', 10);
  stop();
  drops.record('EPERM', 20);
  t.strictSame(heard, [{ count: 1, firstMs: 10, lastMs: 10, cause: 'EPERM' }]);
});
