/**
 * Random reports, with the strings and numbers JSON is least sure to give back (lone surrogates,
 * escapes, multi-byte text at the byte bounds, -0 read from the wire), through the leader's path
 * (encodeParsed: the checked form applied) and a follower's (the bytes decoded): the same
 * decode, field for field, the same results, records and snapshot.
 */
import t from 'tap';
import { StateMachine, agentsKind, decodeCommand, encodeParsed, validateReport, type ClientTag } from '../../src/statemachine/index.js';
import { exactlySame } from '../helpers/exactly-same.js';

const SEED = 5401;
const REPORTS = 400;

/** mulberry32: a small seeded generator, so a failure replays. */
function generator(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'plain', 'quote " backslash \\ nl \n tab \t', 'lone \ud800 high', 'lone \udc00 low', '\udfff\ud800', 'é'.repeat(32), '世'.repeat(21), '🙂'.repeat(16), '\u2028\u2029\u0000\u007f', '__proto__'];
const NAMES = [[], ['tcp'], ['tcp', 'http'], ['zeta', 'alpha', 'a-b', 'b.c']];

/** Entries that pass the checks (ids distinct in a report), as a peer would write them. */
function randomReport(rnd: () => number, n: number): unknown[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (max: number): number => (rnd() < 0.1 ? -0 : Math.floor(rnd() * max));
  const nonEmpty = (): string => pick(STRINGS.filter((s) => s !== ''));
  const sync = (): Record<string, unknown> => ({
    sentVersion: rnd() < 0.3 ? null : int(50),
    ackedVersion: rnd() < 0.3 ? null : int(50),
    nackedVersion: rnd() < 0.5 ? null : int(50),
    lastError: rnd() < 0.5 ? null : pick(STRINGS),
    resources: int(9),
  });
  const entries: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = `a${Math.floor(rnd() * 6) * n + i}`;
    const session = `s${Math.floor(rnd() * 3)}`;
    const op = pick(['connect', 'connect', 'sync', 'disconnect', 'forget'] as const);
    if (op === 'connect') {
      const e: Record<string, unknown> = {
        op, id, session,
        epoch: { boot: nonEmpty(), seq: int(4) },
        info: { protocols: pick(NAMES.slice(0, 3)), lazy: rnd() < 0.5, dependencies: pick(NAMES), hosts: pick(NAMES) },
        sync: sync(), timeoutMs: int(5000), pushes: int(5),
      };
      if (rnd() < 0.5) e['opened'] = int(1_000_000);
      if (e['opened'] !== undefined && rnd() < 0.5) e['seen'] = int(100);
      entries.push(e);
    } else if (op === 'sync') entries.push({ op, id, session, sync: sync(), timeoutMs: int(5000), pushes: int(5) });
    else if (op === 'disconnect') entries.push({ op, id, session, reason: pick(STRINGS), pushes: int(5) });
    else entries.push({ op, id, session, reason: nonEmpty() });
  }
  return entries;
}

/** As the wire gives it: JSON text, with each -0 written as the literal -0 (JSON.parse reads it back as -0). */
function throughWire(entries: unknown[]): unknown[] {
  const text = JSON.stringify(entries, (_k, v: unknown) => (Object.is(v, -0) ? '\u0000NEG0' : v)).replaceAll('"\\u0000NEG0"', '-0');
  return JSON.parse(text) as unknown[];
}

void t.test(`random reports: the leader's applied state is a follower's (seed ${SEED}, ${REPORTS} reports)`, async (t) => {
  t.comment(`seed ${SEED}`);
  const rnd = generator(SEED);
  const leader = new StateMachine();
  const follower = new StateMachine();
  let applied = 0;
  let negativeZeros = 0;
  let firstDiff: string | null = null;
  for (let i = 0; i < REPORTS && firstDiff === null; i++) {
    const raw = throughWire(randomReport(rnd, 1 + Math.floor(rnd() * 5)));
    if (JSON.stringify(raw) !== JSON.stringify(raw, (_k, v: unknown) => (Object.is(v, -0) ? 1 : v))) negativeZeros++;
    const tag: ClientTag | null = rnd() < 0.2 ? null : { id: 'agents/c1', seq: i + 1, ...(rnd() < 0.2 ? { retry: true } : {}) };
    // The decode alone, then a state machine each (a remembered decode serves one decode only).
    const probe = encodeParsed(validateReport('c1', raw), tag);
    firstDiff = exactlySame(decodeCommand(probe), decodeCommand(Uint8Array.from(probe)), `report ${i}: decoded`);
    const data = encodeParsed(validateReport('c1', raw), tag);
    const results = [leader.apply(i + 1, data), follower.apply(i + 1, Uint8Array.from(data))];
    firstDiff ??= exactlySame(results[0], results[1], `report ${i}: result`);
    firstDiff ??= exactlySame(leader.view(agentsKind).list(), follower.view(agentsKind).list(), `report ${i}: records`);
    const value = results[0]!.ok ? (results[0]!.value as { applied: number }) : null;
    applied += value?.applied ?? 0;
  }
  t.equal(firstDiff, null, 'the same decode, result and records after every report');
  t.same(Buffer.from(leader.snapshot()), Buffer.from(follower.snapshot()), 'the same snapshot');
  t.ok(applied > REPORTS / 2, `the reports changed records (${applied} entries applied)`);
  t.ok(negativeZeros > 10, `-0 came over the wire (${negativeZeros} reports)`);
  t.ok(leader.view(agentsKind).list().some((r) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(r.epoch.boot + r.session + (r.lastError ?? ''))), 'some record holds a lone surrogate');
});
