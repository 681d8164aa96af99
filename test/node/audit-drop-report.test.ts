/**
 * Round 6's F5: an audit event the store could not write is counted, remembered for the Audit
 * stream and logged at error level (the first with its cause, then once a minute), where before
 * each one logged a warning and nothing else knew. A closed store (the process stopping) is no
 * gap to report.
 */
import t from 'tap';
import { auditDropReporter } from '../../src/node/audit-drop-report.js';
import { AuditDrops } from '../../src/membership/audit-drops.js';
import { auditEvent } from '../../src/membership/audit.js';
import { MembershipError } from '../../src/membership/errors.js';
import { captureLogs } from '../helpers/log-capture.js';

function harness() {
  const log = captureLogs();
  const clock = { now: 0 };
  const drops = new AuditDrops();
  let counted = 0;
  const report = auditDropReporter({ drops, onDropped: () => void (counted += 1), logger: log.logger, now: () => clock.now });
  return { lines: log.lines, clock, drops, report, counted: () => counted };
}

const ev = auditEvent(0, 'c3', 'agent.nack', { subject: 'edge-1', from: null, to: '7', reason: 'bad' });

void t.test('a failing audit store: every event counted, one error line a minute, the cause in the first', async (t) => {
  const h = harness();
  const eperm = new Error('IO error: Operation not permitted');
  for (let i = 0; i < 100; i++) {
    h.clock.now = i * 1_000;
    h.report(ev, eperm);
  }
  t.equal(h.counted(), 100, 'the metric counts each');
  t.equal(h.drops.summary()?.count, 100, 'the Audit stream will say 100');
  const lines = h.lines();
  t.equal(lines.length, 2, `two lines for 100 events over 99 s, not 100 (${lines.map((l) => String(l['msg'])).join(' | ')})`);
  t.match(lines[0], { level: 50, code: 'AUDIT_WRITE_FAILED', err: { message: eperm.message }, msg: /audit event not persisted \(IO error: Operation not permitted\)/ });
  t.match(lines[1], { level: 50, dropped: 60, total: 61, msg: /^60 more audit events not persisted \(61 since the first failure/ });
});

void t.test('an append after close (the process stopping) is not counted as a gap', async (t) => {
  const h = harness();
  h.report(ev, new MembershipError('AUDIT_STORE_CLOSED', 'closed'));
  t.equal(h.counted(), 0);
  t.equal(h.drops.summary(), null);
  t.match(h.lines(), [{ level: 40 }]);
});
