/**
 * OpenStreams: a stopping controller ends every open stream; a caller judged again (a removed
 * member's key) has its streams, and only those, ended with the refusal.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { OpenStreams, type JudgedCall } from '../../src/api/open-streams.js';

function caller(path: string, member: string | null): JudgedCall & { readonly member: string | null } {
  return { member, getPath: () => path, getAuthContext: () => null } as unknown as JudgedCall & { readonly member: string | null };
}

void t.test("refuseWhere ends the streams of the callers the judge refuses, with PERMISSION_DENIED naming why, and leaves the others", (t) => {
  const open = new OpenStreams();
  const refused: { name: string; status: grpc.ServiceError }[] = [];
  const shutdown: string[] = [];
  const add = (name: string, c: JudgedCall | null): void => {
    open.add(() => shutdown.push(name), c === null ? null : { call: c, refuse: (status) => refused.push({ name, status }) });
  };
  add('c3-watch', caller('/controller.api.Operator/Watch', 'c3'));
  add('c3-audit', caller('/controller.api.Controller/Audit', 'c3'));
  add('operator-watch', caller('/controller.api.Operator/Watch', null));
  add('no-caller', null);
  const judged: string[] = [];
  const ended = open.refuseWhere((method, call) => {
    judged.push(method);
    return (call as JudgedCall & { member: string | null }).member === 'c3' ? 'NOT_A_MEMBER: c3 was removed' : null;
  });
  t.equal(ended, 2);
  t.strictSame(judged, ['/controller.api.Operator/Watch', '/controller.api.Controller/Audit', '/controller.api.Operator/Watch'], 'each caller judged for the method it called');
  t.strictSame(refused.map((r) => r.name), ['c3-watch', 'c3-audit']);
  t.ok(refused.every((r) => r.status.code === grpc.status.PERMISSION_DENIED && r.status.details === 'NOT_A_MEMBER: c3 was removed'));
  t.equal(open.size, 2, 'the refused streams are let go');
  t.equal(open.refuseWhere(() => 'NOT_A_MEMBER: again'), 1, 'a stream is refused once; one without a caller is never judged');
  open.endAll('c1 is shutting down');
  t.strictSame(shutdown, ['no-caller'], 'a shutdown ends what is left');
  t.end();
});
