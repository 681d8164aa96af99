/**
 * The identity record of a data dir (src/identity/types.ts LocalIdentity), stored beside the
 * Raft state: version u8 | UTF-8 JSON | crc32 u32. Read once at start, written a few times in
 * a data dir's life (created, cluster id learned), so readable JSON costs nothing.
 */
import { crc32 } from 'node:zlib';
import { DATA_DIR_ORIGINS, IDENTITY_ID, type DataDirOrigin, type LocalIdentity } from '../identity/types.js';
import type { Decoded } from './codec.js';

const VERSION = 1;
/** `creation` is absent from records written before it existed: read as null. */
const FIELDS = ['memberId', 'incarnation', 'clusterId', 'origin', 'recorded', 'creationSeen', 'creation'] as const;

export function encodeIdentity(identity: LocalIdentity): Buffer {
  const json = Buffer.from(
    JSON.stringify({
      memberId: identity.memberId,
      incarnation: identity.incarnation,
      clusterId: identity.clusterId,
      origin: identity.origin,
      recorded: identity.recorded,
      creationSeen: identity.creationSeen,
      // Only when there is one: a record without it stays readable by the versions before it.
      ...(identity.creation === null ? {} : { creation: identity.creation }),
    }),
  );
  const buf = Buffer.allocUnsafe(1 + json.length + 4);
  buf[0] = VERSION;
  json.copy(buf, 1);
  buf.writeUInt32BE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}

export function decodeIdentity(value: Uint8Array): Decoded<LocalIdentity> {
  const bad = (problem: string): Decoded<LocalIdentity> => ({ ok: false, problem: `identity record: ${problem}` });
  if (value.length < 6) return bad(`expected at least 6 bytes, found ${value.length}`);
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const stored = buf.readUInt32BE(buf.length - 4);
  const actual = crc32(buf.subarray(0, buf.length - 4));
  if (stored !== actual) return bad(`checksum mismatch: stored crc32 ${stored}, computed ${actual}`);
  if (buf[0] !== VERSION) return bad(`expected format version ${VERSION}, found ${buf[0]}`);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8', 1, buf.length - 4));
  } catch (err) {
    return bad(`expected JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('expected an object');
  const r = v as Readonly<Record<string, unknown>>;
  const extra = Object.keys(r).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) return bad(`unexpected field ${extra[0]}`);
  const { memberId, incarnation, clusterId, origin, recorded, creationSeen } = r;
  const creation = r['creation'] ?? null;
  if (typeof memberId !== 'string' || memberId === '') return bad('expected a member id');
  if (typeof incarnation !== 'string' || !IDENTITY_ID.test(incarnation)) return bad('expected an incarnation of 16 hex digits');
  if (clusterId !== null && (typeof clusterId !== 'string' || !IDENTITY_ID.test(clusterId))) return bad('expected a cluster id of 16 hex digits, or null');
  if (typeof origin !== 'string' || !(DATA_DIR_ORIGINS as readonly string[]).includes(origin)) return bad(`expected an origin, one of ${DATA_DIR_ORIGINS.join(', ')}`);
  if (typeof recorded !== 'boolean' || typeof creationSeen !== 'boolean') return bad('expected recorded and creationSeen to be true or false');
  if (creation !== null && (typeof creation !== 'string' || !IDENTITY_ID.test(creation))) return bad('expected a creation digest of 16 hex digits, or null');
  return {
    ok: true,
    value: { memberId, incarnation, clusterId: clusterId as string | null, origin: origin as DataDirOrigin, recorded, creationSeen, creation: creation as string | null },
  };
}
