/**
 * UnheardWatch (src/membership/unheard-watch.ts): news only once the peers that do not hear this
 * node have not heard it for the whole hold, once per episode, and an end when none is left.
 */
import t from 'tap';
import { UnheardWatch } from '../../src/membership/unheard-watch.js';

void t.test('held, then one warning per episode, then heard again', async (t) => {
  const w = new UnheardWatch(4000);
  t.equal(w.update([], 0), null, 'nothing to say while everyone hears it');
  t.equal(w.update(['c1'], 1000), null, 'not news before the hold');
  t.equal(w.update(['c1'], 4999), null, 'still within the hold');
  t.same(w.update(['c1', 'c2'], 5000), { type: 'unheard', peers: ['c1', 'c2'], newly: ['c1', 'c2'], forMs: 4000 }, 'news after the hold, naming who does not hear it now');
  t.equal(w.update(['c1', 'c2'], 9000), null, 'once per episode');
  t.equal(w.update(['c2'], 9500), null, 'nor when the set shrinks');
  t.same(w.update([], 10_000), { type: 'heard-again', peers: ['c1', 'c2'] }, 'the end of the episode, naming those it warned of');
  t.equal(w.update([], 10_500), null, 'said once');
});

void t.test('a blip shorter than the hold (a start, whose first pongs carry old views) says nothing', async (t) => {
  const w = new UnheardWatch(4000);
  t.equal(w.update(['c1', 'c2'], 0), null);
  t.equal(w.update(['c1'], 3000), null);
  t.equal(w.update([], 3500), null, 'heard before the hold ran out: no news, no end line');
  t.equal(w.update(['c1'], 4000), null, 'a new episode counts its hold from its own start');
  t.equal(w.update(['c1'], 7999), null);
  t.same(w.update(['c1'], 8000), { type: 'unheard', peers: ['c1'], newly: ['c1'], forMs: 4000 });
});

void t.test('a peer that stops hearing it later in the episode is news once it has not heard it for the hold too', async (t) => {
  const w = new UnheardWatch(4000);
  t.equal(w.update(['c1'], 0), null);
  t.same(w.update(['c1'], 4000), { type: 'unheard', peers: ['c1'], newly: ['c1'], forMs: 4000 });
  t.equal(w.update(['c1', 'c2'], 5000), null, 'c2 only just shows it offline: held as the first was');
  t.equal(w.update(['c1'], 6000), null, 'a blip of c2 says nothing');
  t.equal(w.update(['c1', 'c2'], 7000), null, 'and its hold starts again');
  t.equal(w.update(['c1', 'c2'], 10_999), null);
  t.same(w.update(['c1', 'c2'], 11_000), { type: 'unheard', peers: ['c1', 'c2'], newly: ['c2'], forMs: 11_000 }, 'c2 named once held, with the whole set');
  t.equal(w.update(['c1', 'c2'], 20_000), null, 'each peer once per episode');
  t.equal(w.update(['c2'], 21_000), null);
  t.equal(w.update(['c1', 'c2'], 26_000), null, 'not again for a peer already named, back in the set');
  t.same(w.update([], 27_000), { type: 'heard-again', peers: ['c1', 'c2'] }, 'the end names every peer warned of');
});
