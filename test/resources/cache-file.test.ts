/**
 * The cache files: mode 0600 in a 0700 directory, written atomically, read back exactly; a
 * file that is not exactly a cache entry is corrupt (never trusted), and the expiry rule.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { encodeCacheEntry, freshness, MAX_CACHE_FILE_BYTES, type CacheEntry } from '../../src/resources/cache-entry.js';
import { cacheFileName, FileCacheStore, resourcesCacheDir } from '../../src/resources/cache-store.js';

const ENTRY: CacheEntry = {
  member: 'c2',
  address: '127.0.0.1:7102',
  incarnation: '0123456789abcdef',
  fetchedAt: 1_700_000_000_000,
  static: { cpus: 4, cpuModel: 'Test CPU', cpuFlags: ['avx', 'sse2'], memoryBytes: 8 * 1024 ** 3 },
  live: { diskFreeBytes: 123456789, loadAverage: [0.1, 0.2, 0.3], readAt: 1_700_000_000_500 },
};

function tempStore(t: Test): FileCacheStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resources-cache-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new FileCacheStore(resourcesCacheDir(dir));
}

void t.test('a written entry reads back the same, in a 0600 file of a 0700 directory', async (t) => {
  const store = tempStore(t);
  t.strictSame(await store.read('c2'), { kind: 'missing' }, 'nothing before the first write');
  const oldUmask = process.umask(0o000);
  try {
    await store.write(ENTRY);
  } finally {
    process.umask(oldUmask);
  }
  t.equal(fs.statSync(store.fileOf('c2')).mode & 0o777, 0o600, 'file mode 0600 whatever the umask');
  t.equal(fs.statSync(store.dir).mode & 0o777, 0o700, 'directory mode 0700');
  t.strictSame(await store.read('c2'), { kind: 'found', entry: ENTRY });
  t.strictSame(
    fs.readdirSync(store.dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left behind',
  );
  await store.write({ ...ENTRY, fetchedAt: ENTRY.fetchedAt + 1 });
  const again = await store.read('c2');
  t.equal(again.kind === 'found' ? again.entry.fetchedAt : 0, ENTRY.fetchedAt + 1, 'a rewrite replaces the file');
});

void t.test('anything but exactly a cache entry is corrupt, and says why', async (t) => {
  const store = tempStore(t);
  await store.write(ENTRY);
  const file = store.fileOf('c2');
  const good = JSON.parse(encodeCacheEntry(ENTRY)) as Record<string, unknown>;
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"format": 1, "memb', /not JSON/],
    ['empty', '', /not JSON/],
    ['a list', '[1,2]', /expected an object/],
    ['another format', JSON.stringify({ ...good, format: 2 }), /expected format 1, found 2/],
    ["another member's", JSON.stringify({ ...good, member: 'c3' }), /expected the cache of "c2", found one of "c3"/],
    ['an unknown field', JSON.stringify({ ...good, extra: 1 }), /unexpected field "extra"/],
    ['zero CPUs', JSON.stringify({ ...good, static: { ...(good['static'] as object), cpus: 0 } }), /"cpus" must be in \[1, 65536\]/],
    ['a bad flag', JSON.stringify({ ...good, static: { ...(good['static'] as object), cpuFlags: ['avx', 'rm -rf /'] } }), /CPU flag names/],
    ['two load figures', JSON.stringify({ ...good, live: { ...(good['live'] as object), loadAverage: [1, 2] } }), /3 numbers/],
    ['negative disk', JSON.stringify({ ...good, live: { ...(good['live'] as object), diskFreeBytes: -1 } }), /"diskFreeBytes" must be in/],
    ['too large', ' '.repeat(MAX_CACHE_FILE_BYTES + 1), /expected at most/],
  ];
  for (const [what, text, reason] of cases) {
    fs.writeFileSync(file, text);
    const r = await store.read('c2');
    t.equal(r.kind, 'corrupt', what);
    t.match(r.kind === 'corrupt' ? r.reason : '', reason, what);
  }
});

void t.test('file names: a plain id as it is, anything else hashed into one path component', async (t) => {
  t.equal(cacheFileName('c2'), 'c2.json');
  for (const id of ['../etc/passwd', 'a/b', '', 'x'.repeat(300)]) {
    const name = cacheFileName(id);
    t.match(name, /^id-[0-9a-f]{32}\.json$/, JSON.stringify(id).slice(0, 20));
  }
});

void t.test('freshness: within the expiry at the same address and incarnation; expired, moved, rebuilt, or fetched in the future is not', async (t) => {
  const member = { id: 'c2', address: '127.0.0.1:7102', incarnation: '0123456789abcdef' };
  const ttl = 24 * 3_600_000;
  t.strictSame(freshness(ENTRY, member, ENTRY.fetchedAt + ttl - 1, ttl), { fresh: true });
  t.strictSame(freshness(ENTRY, member, ENTRY.fetchedAt + ttl, ttl), { fresh: false, reason: 'expired' });
  t.strictSame(freshness(ENTRY, { ...member, address: '127.0.0.1:7109' }, ENTRY.fetchedAt, ttl), { fresh: false, reason: 'moved' });
  t.strictSame(freshness(ENTRY, member, ENTRY.fetchedAt - 120_000, ttl), { fresh: false, reason: 'clock' });
  // Round 6's F6: rebuilt through remove, add, --join (a new incarnation), maybe on new hardware.
  t.strictSame(freshness(ENTRY, { ...member, incarnation: 'fedcba9876543210' }, ENTRY.fetchedAt, ttl), { fresh: false, reason: 'incarnation' });
  t.strictSame(freshness(ENTRY, { ...member, incarnation: '' }, ENTRY.fetchedAt, ttl), { fresh: false, reason: 'incarnation' }, 'not recorded yet');
  t.strictSame(freshness({ ...ENTRY, incarnation: '' }, { ...member, incarnation: '' }, ENTRY.fetchedAt, ttl), { fresh: false, reason: 'incarnation' }, 'both unknown');
  t.strictSame(freshness({ ...ENTRY, incarnation: null }, member, ENTRY.fetchedAt, ttl), { fresh: false, reason: 'incarnation' }, 'a file from before the field');
});

void t.test("round 6's F6: a file written before entries named the incarnation reads as of none; a removed member's file is deleted", async (t) => {
  const store = tempStore(t);
  await store.write(ENTRY);
  const old = JSON.parse(encodeCacheEntry(ENTRY)) as Record<string, unknown>;
  delete old['incarnation'];
  fs.writeFileSync(store.fileOf('c2'), JSON.stringify(old));
  const r = await store.read('c2');
  t.strictSame(r.kind === 'found' ? r.entry.incarnation : 'not found', null, 'not corrupt: of an unknown incarnation');

  await store.write({ ...ENTRY, member: 'c3' });
  await store.write({ ...ENTRY, member: '../odd' });
  fs.writeFileSync(path.join(store.dir, 'c9.json.123.1.tmp'), '');
  await store.retainOnly(new Set(['c2', '../odd']));
  t.strictSame(fs.readdirSync(store.dir).sort(), [cacheFileName('../odd'), 'c2.json', 'c9.json.123.1.tmp'].sort(), "c3's file gone; members' files and a write in progress kept");
  await new FileCacheStore(path.join(store.dir, 'none')).retainOnly(new Set());
  t.pass('no directory yet: nothing to delete');
});
