/**
 * Where each controller address welcomed the agent, kept beside --out (src/agent/answered-file.ts)
 * and read back at the start: an agent restarted while its own cluster is down still refuses
 * another cluster of its name (cluster-guard.ts). Before, the record lived only in the process:
 * a restarted agent had heard nothing, and took that other cluster's controller for a restore.
 * A file that does not parse is ignored with the reason, as --out is; nothing else is lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AnsweredWriter, answeredFileOf, answeredText, loadAnswered, parseAnswered } from '../../src/agent/answered-file.js';
import { heldAddresses, judgeWelcome, refusesSiblings } from '../../src/agent/cluster-guard.js';
import { loadPreviousConfig } from '../../src/agent/load-out.js';

const FIRST = '127.0.0.1:7101';
const SECOND = '127.0.0.1:7201';
const held = { id: 'k-first', name: 'default' };
const sibling = { id: 'k-second', name: 'default' };

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'answered-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void t.test('a restart while the held cluster is down: the map read back refuses the other cluster of its name', async (t) => {
  const dir = tempDir(t);
  const file = answeredFileOf(path.join(dir, 'a7.json'));
  t.equal(file, path.join(dir, 'a7.json.controllers.json'), 'beside --out');
  const writer = new AnsweredWriter(file, (err) => t.fail(err.message));
  writer.save(new Map([[FIRST, held.id]]));
  await writer.settled();

  // The restarted process: nothing heard in it, the map read back.
  const warnings: string[] = [];
  const answered = loadAnswered(file, [FIRST, SECOND], (m) => warnings.push(m));
  t.same([...answered], [[FIRST, held.id]]);
  t.same(warnings, []);
  const heard = heldAddresses(answered, SECOND, held.id);
  t.same(heard, { fromHeld: false, othersHeld: [FIRST] });
  t.match(judgeWelcome(held, sibling, `c1 at ${SECOND}`, heard), { type: 'refuse', reason: /two clusters of one name/ }, 'refused, as before the restart');
  t.ok(refusesSiblings(held, heard), 'and its hello says so');
  // What the process knew before the map was kept: nothing, so the sibling was taken.
  t.match(judgeWelcome(held, sibling, `c1 at ${SECOND}`, heldAddresses(new Map(), SECOND, held.id)), { type: 'take', warning: /has a new id/ });
  // A restore in place is still followed.
  t.match(judgeWelcome(held, { id: 'k-first-2', name: 'default' }, `c1 at ${FIRST}`, heldAddresses(answered, FIRST, held.id)), { type: 'take', warning: /has a new id/ });
});

void t.test('addresses no longer on --controllers are dropped: a restore onto other hosts with a new list is taken', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a7.json.controllers.json');
  fs.writeFileSync(file, answeredText(new Map([[FIRST, held.id], [SECOND, sibling.id]])));
  const answered = loadAnswered(file, ['127.0.0.1:7301'], () => t.fail('no warning'));
  t.equal(answered.size, 0);
  t.match(judgeWelcome(held, { id: 'k-restored', name: 'default' }, 'c1 at 127.0.0.1:7301', heldAddresses(answered, '127.0.0.1:7301', held.id)), { type: 'take' });
});

void t.test('a bad or foreign file is ignored with the reason; the file and --out are left as they are', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'a7.json');
  const config = `${JSON.stringify({ version: 3, cluster: held.id, clusterName: held.name, resources: [] })}\n`;
  fs.writeFileSync(out, config);
  const file = answeredFileOf(out);
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['not JSON', '{"controllers": {', /a7\.json\.controllers\.json: expected JSON, found: /],
    ['an --out file in its place', config, /a7\.json\.controllers\.json: unexpected field "version"/],
    ['a cluster id that is not a string', '{"controllers": {"127.0.0.1:7101": 7}}', /controllers: field "127\.0\.0\.1:7101" must be a string, found/],
    ['an empty cluster id', '{"controllers": {"127.0.0.1:7101": ""}}', /must not be empty/],
    ['a list instead of the map', '{"controllers": []}', /controllers: expected an object, found/],
  ];
  for (const [what, text, reason] of cases) {
    fs.writeFileSync(file, text);
    const warnings: string[] = [];
    const answered = loadAnswered(file, [FIRST], (m) => warnings.push(m));
    t.equal(answered.size, 0, `${what}: nothing heard`);
    t.equal(warnings.length, 1, `${what}: one warning`);
    t.match(warnings[0], reason, `${what}: names the file and the cause`);
    t.match(warnings[0], /starting with no controller address known to have answered for this agent's cluster$/, `${what}: says what the agent does`);
    t.equal(fs.readFileSync(file, 'utf8'), text, `${what}: the file is left as it is`);
  }
  t.match(loadPreviousConfig(out, () => t.fail('--out parses')), { version: 3, cluster: held.id }, '--out is read as ever');
  const none: string[] = [];
  t.equal(loadAnswered(path.join(dir, 'absent.json'), [FIRST], (m) => none.push(m)).size, 0);
  t.same(none, [], 'no file: nothing to say');
  t.throws(() => parseAnswered(JSON.stringify({ controllers: { '': 'k' } }), 'f'), /expected controller addresses of 1 to 1024 bytes/);
});

void t.test('saves during a write: one write at a time, the newest map last', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a7.json.controllers.json');
  const writer = new AnsweredWriter(file, (err) => t.fail(err.message));
  const map = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    map.set(`127.0.0.1:${7100 + i}`, `k-${i}`);
    writer.save(map);
  }
  await writer.settled();
  t.same([...parseAnswered(fs.readFileSync(file, 'utf8'), file)].sort(), [...map].sort());
  t.same(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary copy left');
});
