/**
 * What ProcessClaims keeps is bounded whatever senders stamp (src/identity/process-claims.ts,
 * contenders.ts): the adversarial test's flood of one-shot boot ids, steady ones, incarnations.
 */
import t, { type Test } from 'tap';
import { Contenders, MAX_FRESH, MAX_STEADY } from '../../src/identity/contenders.js';
import { MAX_DATA_DIRS, PROVEN_HOLDS, ProcessClaims } from '../../src/identity/process-claims.js';

const HOLD_MS = 1000;
const CAP = MAX_FRESH + MAX_STEADY;

/**
 * The holder and a copy each speak every 100ms (the copy 50ms after), beside a flood of `perMs`
 * new boot ids a millisecond until `floodBoots` were sent. Returns when the copy was proven.
 */
function flood(t: Test, perMs: number, floodBoots: number, untilMs: number): { provenAt: number | null; claims: ProcessClaims } {
  const claims = new ProcessClaims(HOLD_MS);
  let sent = 0;
  let refused = 0;
  let maxContenders = 0;
  let provenAt: number | null = null;
  let copyAdmitted = 0;
  for (let now = 0; now <= untilMs; now++) {
    if (now % 100 === 0) {
      const held = claims.admit('c2', 'inc', 'real', now);
      if (held.refusal !== null) t.fail(`the holder was refused at ${now}`);
      else if (held.proven.includes('copy')) provenAt ??= now;
    }
    if (now % 100 === 50 && claims.admit('c2', 'inc', 'copy', now).refusal === null) copyAdmitted++;
    for (let i = 0; i < perMs && sent < floodBoots; i++) {
      if (claims.admit('c2', 'inc', `forged-${sent++}`, now).refusal !== null) refused++;
    }
    maxContenders = Math.max(maxContenders, claims.kept().contenders);
  }
  t.equal(sent, floodBoots, 'the whole flood was sent');
  t.equal(refused, floodBoots, 'every forged boot id was refused');
  t.equal(copyAdmitted, 0, 'and every message of the copy');
  t.ok(maxContenders <= CAP, `contenders stay within ${CAP} (at most ${maxContenders})`);
  t.same(claims.kept(), { dataDirs: 1, contenders: claims.kept().contenders }, 'one data dir claimed');
  return { provenAt, claims };
}

void t.test('100k one-shot boot ids: contenders stay bounded, and a copy speaking at every heartbeat beside them is proven on time', async (t) => {
  // 2 a millisecond: 200 new boots between two messages of the copy, fewer than MAX_FRESH.
  const { provenAt, claims } = flood(t, 2, 100_000, 51_000);
  t.equal(provenAt, 1100, 'proven at the holder\'s first message more than a hold after the copy first spoke, as without the flood');
  t.match(claims.admit('c2', 'inc', 'copy', 51_000 + PROVEN_HOLDS * HOLD_MS), { refusal: { reason: /is refused until that one has been silent/ } }, 'and held off for the long hold');
  t.ok(claims.kept().contenders <= CAP);
});

void t.test('a flood faster than MAX_FRESH boots between two of the copy\'s messages defers its proof; the copy is refused all along', async (t) => {
  // 3 a millisecond: 300 new boots between two messages of the copy, for 20 seconds.
  const { provenAt } = flood(t, 3, 60_000, 22_000);
  // The flood's last boot (the 60000th) goes at 19999: the copy's message at 19950 is followed by 150.
  t.equal(provenAt, 21_000, 'proven once the flood slowed, a hold after the first message of the copy it did not push out');
});

void t.test('steady contenders are bounded: the youngest goes, one that spoke first stays', async (t) => {
  const c = new Contenders(HOLD_MS);
  c.heard('copy', 0);
  c.heard('copy', 10);
  for (let i = 0; i < 10 * MAX_STEADY; i++) {
    const now = 20 + i;
    if (i % 5 === 0) c.heard('copy', now);
    c.heard(`twice-${i}`, now);
    c.heard(`twice-${i}`, now);
    t.ok(c.size <= CAP, 'bounded');
  }
  t.same(c.provenBeside(HOLD_MS + 1), ['copy'], 'the copy, steady first, was never the youngest');
  t.equal(c.provenBeside(HOLD_MS + 1).length, 0, 'a proven contender is handed over once');
});

void t.test('boot ids each sent twice, 2 a millisecond, beside a copy steady before them and heard every 500ms: proven on time', async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  let provenAt: number | null = null;
  let sent = 0;
  let maxContenders = 0;
  claims.admit('c2', 'inc', 'real', 0);
  for (let now = 1; now <= 5_000; now++) {
    if (now % 100 === 0) {
      const held = claims.admit('c2', 'inc', 'real', now);
      if (held.refusal === null && held.proven.includes('copy')) provenAt ??= now;
    }
    if (now % 500 === 10) claims.admit('c2', 'inc', 'copy', now);
    if (now > 600) {
      for (let i = 0; i < 2; i++, sent++) {
        claims.admit('c2', 'inc', `twice-${sent}`, now);
        claims.admit('c2', 'inc', `twice-${sent}`, now);
      }
    }
    maxContenders = Math.max(maxContenders, claims.kept().contenders);
  }
  t.ok(sent > 8_000, `${sent} forged boot ids, each sent twice`);
  t.ok(maxContenders <= CAP, `contenders stay within ${CAP} (at most ${maxContenders})`);
  t.equal(provenAt, 1100, 'proven at the holder\'s first message past a hold after the copy first spoke, as without the flood');
});

void t.test('a contender silent for longer than the hold is forgotten: its proof starts over', async (t) => {
  const c = new Contenders(HOLD_MS);
  c.heard('copy', 0);
  c.heard('copy', 500);
  t.same(c.provenBeside(1501), [], 'silent since 500: not speaking now, and forgotten');
  c.heard('copy', 1600);
  c.heard('copy', 2000);
  t.same(c.provenBeside(2500), [], 'heard since 1600 only: too soon (counted from 0, it would be proven)');
  c.heard('copy', 2600);
  t.same(c.provenBeside(2601), ['copy'], 'a hold after it spoke again');
});

void t.test('claimed data dirs per member are bounded; a live claim is never forgotten for a new one', async (t) => {
  const claims = new ProcessClaims(HOLD_MS);
  t.equal(claims.admit('c2', 'real-dir', 'real', 0).refusal, null);
  for (let i = 1; i < MAX_DATA_DIRS; i++) t.equal(claims.admit('c2', `dir-${i}`, `b${i}`, i).refusal, null, `data dir ${i}`);
  const extra = claims.admit('c2', 'dir-extra', 'x', 10);
  t.match(extra, { refusal: { code: 'DUPLICATE_PROCESS', reason: new RegExp(`${MAX_DATA_DIRS} data dirs of c2 hold a claim still .* incarnation dir-extra speaks too`) } });
  for (let n = 0; n < 10_000; n++) claims.admit('c2', `forged-${n}`, 'x', 20 + (n % 900));
  t.equal(claims.kept().dataDirs, MAX_DATA_DIRS, 'kept bounded under a flood of incarnations');
  t.equal(claims.admit('c2', 'real-dir', 'real', 900).refusal, null, 'the real one holds its claim');
  t.match(claims.admit('c2', 'real-dir', 'forged', 901), { refusal: { code: 'DUPLICATE_PROCESS' } }, 'and nobody else takes it');
  t.equal(claims.admit('c2', 'dir-new', 'y', 1100).refusal, null, 'a data dir silent for the hold, with nothing proven, makes room');
  t.equal(claims.admit('c3', 'dir', 'z', 1100).refusal, null, 'another member has its own');
  t.equal(claims.kept().dataDirs, MAX_DATA_DIRS + 1);
});
