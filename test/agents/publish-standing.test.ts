/** Another controller's word on an agent's publish is untrusted input: bounded, exact, or refused. */
import t from 'tap';
import { decodePublishStanding } from '../../src/agents/publish-standing.js';

const err = (m: string): Error => new Error(m);

void t.test('absent or null reads as nothing said; a good answer reads back whole', async (t) => {
  t.equal(decodePublishStanding(undefined, 'p', err), null);
  t.equal(decodePublishStanding(null, 'p', err), null);
  const good = { refusedHosts: [{ name: 'web', reason: 'range exhausted' }], held: 'the state is at its quota' };
  t.same(decodePublishStanding(good, 'p', err), good);
});

void t.test('malformed, unknown or oversized fields are refused with where they are', async (t) => {
  t.throws(() => decodePublishStanding({ refusedHosts: 'web', held: null }, 'agents[0].publish', err), /agents\[0\]\.publish.*refusedHosts.*array/);
  t.throws(() => decodePublishStanding({ refusedHosts: [], held: null, extra: 1 }, 'p', err), /extra/);
  t.throws(() => decodePublishStanding({ refusedHosts: [{ name: '', reason: 'x' }], held: null }, 'p', err), /refusedHosts\[0\].*name.*empty/);
  t.throws(() => decodePublishStanding({ refusedHosts: [{ name: 'web', reason: 'x'.repeat(1025) }], held: null }, 'p', err), /at most 1024 bytes/);
  t.throws(() => decodePublishStanding({ refusedHosts: [], held: 7 }, 'p', err), /held.*string/);
  t.throws(() => decodePublishStanding({ refusedHosts: Array.from({ length: 5001 }, () => ({ name: 'a', reason: '' })), held: null }, 'p', err), /at most 5000 items/);
});
