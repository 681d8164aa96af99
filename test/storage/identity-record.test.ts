/** The data dir's identity record: written atomically with the bootstrap entry, verified on read. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 as zlibCrc } from 'node:zlib';
import { Level } from 'level';
import t from 'tap';
import type { LocalIdentity } from '../../src/identity/types.js';
import { bootstrapState } from '../../src/raft/bootstrap.js';
import { decodeIdentity, encodeIdentity } from '../../src/storage/identity-codec.js';
import { LevelRaftStorage, StorageCorruptionError } from '../../src/storage/level-raft-storage.js';

const me: LocalIdentity = { memberId: 'c1', incarnation: '0123456789abcdef', clusterId: null, origin: 'bootstrap', recorded: false, creationSeen: false, creation: 'ab0123456789cdef' };

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'identity-record-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void t.test('identity records round-trip and a damaged one is named', async (t) => {
  for (const id of [me, { ...me, clusterId: 'fedcba9876543210', origin: 'join' as const, recorded: true, creation: null }]) t.same(decodeIdentity(encodeIdentity(id)), { ok: true, value: id });
  t.notMatch(encodeIdentity({ ...me, creation: null }).toString('utf8'), /creation"/, 'no digest, no field: older versions read the record');
  const raw = encodeIdentity(me);
  raw.writeUInt8(raw.readUInt8(5) ^ 1, 5);
  t.match(decodeIdentity(raw), { ok: false, problem: /identity record: checksum mismatch/ });
  const forged = (json: string): Buffer => {
    const b = Buffer.concat([Buffer.from([1]), Buffer.from(json), Buffer.alloc(4)]);
    b.writeUInt32BE(crcOf(b), b.length - 4);
    return b;
  };
  const older = decodeIdentity(forged('{"memberId":"c1","incarnation":"0123456789abcdef","clusterId":null,"origin":"bootstrap","recorded":false,"creationSeen":true}'));
  t.same(older, { ok: true, value: { memberId: 'c1', incarnation: '0123456789abcdef', clusterId: null, origin: 'bootstrap', recorded: false, creationSeen: true, creation: null } }, 'a record from before the creation digest reads as none');
  t.match(decodeIdentity(forged('{"memberId":"c1","incarnation":"0123456789abcdef","clusterId":null,"origin":"join","recorded":false,"creationSeen":false,"creation":"nope"}')), { ok: false, problem: /creation digest of 16 hex digits/ });
  t.match(decodeIdentity(forged('{"memberId":"c1","incarnation":"xyz","clusterId":null,"origin":"join","recorded":false,"creationSeen":false}')), { ok: false, problem: /incarnation of 16 hex digits/ });
  t.match(decodeIdentity(forged('{"memberId":"c1","incarnation":"0123456789abcdef","clusterId":null,"origin":"magic","recorded":false,"creationSeen":false}')), { ok: false, problem: /expected an origin/ });
  t.match(decodeIdentity(forged('{"memberId":"c1","incarnation":"0123456789abcdef","clusterId":null,"origin":"join","recorded":false,"creationSeen":false,"x":1}')), { ok: false, problem: /unexpected field x/ });
});

void t.test('the identity is written in one batch with the bootstrap entry and read back after a restart', async (t) => {
  const dir = path.join(tempDir(t), 'raft');
  let s = await LevelRaftStorage.open(dir);
  t.equal(await s.loadIdentity(), null, 'a new data dir has none');
  const b = bootstrapState(['c1', 'c2'], '[]');
  await s.saveIdentity(me, { hardState: b.hardState, entries: [b.entry], snapshot: null });
  await s.close();
  s = await LevelRaftStorage.open(dir);
  t.same(await s.loadIdentity(), me);
  const state = await s.load();
  t.same(state.entries.map((e) => e.index), [1]);
  t.equal(state.hardState.commit, 1);
  await s.saveIdentity({ ...me, clusterId: 'fedcba9876543210' });
  t.equal((await s.loadIdentity())?.clusterId, 'fedcba9876543210', 'learning the cluster id rewrites the record');
  await s.save({ hardState: null, entries: [{ term: 2, index: 2, kind: 'noop', data: new Uint8Array(0) }], snapshot: null }, true);
  t.same((await s.load()).entries.map((e) => e.index), [1, 2], 'the log continues after the entry written with the identity');
  await s.close();
});

void t.test('a corrupt identity record stops the start with the key named', async (t) => {
  const dir = path.join(tempDir(t), 'raft');
  const s = await LevelRaftStorage.open(dir);
  await s.saveIdentity(me);
  await s.close();
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.put('id', Buffer.from('garbage!'));
  await db.close();
  const again = await LevelRaftStorage.open(dir);
  t.teardown(() => again.close());
  await t.rejects(again.loadIdentity(), StorageCorruptionError);
  await t.rejects(again.loadIdentity(), /corrupt at key id: identity record: checksum mismatch/);
});

function crcOf(b: Buffer): number {
  return zlibCrc(b.subarray(0, b.length - 4));
}
