/**
 * ScrapeRenders: a new render for each request while the budget allows (so a scrape right after
 * a change sees it), the latest past the budget, whatever the request rate. Time is given.
 */
import t from 'tap';
import { METRICS_RENDER_BURST, METRICS_RENDERS_PER_SECOND, ScrapeRenders } from '../../src/node/scrape-renders.js';

/** A render that returns its own number, counting renders and reuses. */
function counted(): { renders: ScrapeRenders; rendered: () => number; reused: () => number } {
  let n = 0;
  let reused = 0;
  const renders = new ScrapeRenders(
    () => Promise.resolve(`render ${++n}`),
    0,
    () => (reused += 1),
  );
  return { renders, rendered: () => n, reused: () => reused };
}

void t.test('scrapes at the budget or slower each get a new render', async (t) => {
  const { renders, rendered, reused } = counted();
  const interval = 1000 / METRICS_RENDERS_PER_SECOND;
  for (let i = 1; i <= 100; i++) t.equal(await renders.body(i * interval), `render ${i}`, `scrape ${i}`);
  t.equal(rendered(), 100);
  t.equal(reused(), 0);
});

void t.test('a burst gets new renders up to the burst, then the latest', async (t) => {
  const { renders, rendered, reused } = counted();
  const bodies: string[] = [];
  for (let i = 0; i < METRICS_RENDER_BURST + 5; i++) bodies.push(await renders.body(1000));
  t.strictSame(
    bodies.slice(0, METRICS_RENDER_BURST),
    Array.from({ length: METRICS_RENDER_BURST }, (_, i) => `render ${i + 1}`),
    'each of the burst a render of its own',
  );
  t.strictSame(bodies.slice(METRICS_RENDER_BURST), Array<string>(5).fill(`render ${METRICS_RENDER_BURST}`), 'then the latest');
  t.equal(reused(), 5);
  t.equal(rendered(), METRICS_RENDER_BURST);
});

void t.test('a flood costs at most the budget, and what it reuses is under 1000 / perSecond ms old', async (t) => {
  const { renders, rendered } = counted();
  const startedAt = new Map<string, number>();
  let oldest = 0;
  // 1,000 requests a second for 10 s, as 64 pipelined connections asked for.
  for (let ms = 0; ms < 10_000; ms++) {
    const before = rendered();
    const body = await renders.body(ms);
    if (rendered() > before) startedAt.set(body, ms);
    else oldest = Math.max(oldest, ms - startedAt.get(body)!);
  }
  t.ok(rendered() <= METRICS_RENDER_BURST + 10 * METRICS_RENDERS_PER_SECOND, `${rendered()} renders in 10 s for 10,000 requests`);
  t.ok(oldest < 1000 / METRICS_RENDERS_PER_SECOND, `a reused body at most ${oldest} ms old`);
});

void t.test('a render still running is joined, not started again, past the budget', async (t) => {
  let finish: (body: string) => void = () => undefined;
  let n = 0;
  const renders = new ScrapeRenders(
    () => ((n += 1), new Promise<string>((resolve) => (finish = resolve))),
    0,
    () => undefined,
    1,
    1,
  );
  const first = renders.body(0);
  const second = renders.body(0);
  finish('slow');
  t.strictSame(await Promise.all([first, second]), ['slow', 'slow']);
  t.equal(n, 1);
});

void t.test('a failed render is not reused', async (t) => {
  let n = 0;
  const renders = new ScrapeRenders(
    () => (++n === 1 ? Promise.reject(new Error('collect failed')) : Promise.resolve(`render ${n}`)),
    0,
    () => undefined,
    1,
    1,
  );
  await t.rejects(renders.body(0), /collect failed/);
  t.equal(await renders.body(0), 'render 2', 'past the budget, yet rendered again: nothing good to reuse');
  t.equal(await renders.body(0), 'render 2', 'that one is reused');
});
