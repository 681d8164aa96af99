/**
 * The command envelope and its wire form. Two formats, told apart by the first byte:
 *
 *   1  JSON:   0x01 | the command as UTF-8 JSON
 *   2  binary: 0x02 | nameLen u8 | name | headerLen u32 | header | payload
 *
 * Format 2 carries one field of raw bytes (the kv value) beside the JSON header, which holds
 * every other field: any bytes can be stored, and a value costs its own size in the log instead
 * of up to six times that as escaped JSON. A command with a Uint8Array field is written in
 * format 2, any other in format 1; both are read, so logs written before format 2 still apply.
 * Every kind parses the same JSON fields through the resource-kind seam either way.
 *
 * Decoding is total over its input: garbage, unknown kinds, missing or mistyped fields and
 * oversized values all become a CommandError, never a crash, because the same bytes are
 * decoded on every node and a throw there would take the whole cluster down.
 */
import { MAX_ENTRY_BYTES } from '../limits/entry-size.js';
import { describe, Fields, isRecord, type Payload } from '../util/untrusted.js';
import { CommandError } from './errors.js';
import { DEFAULT_REGISTRY } from './kinds.js';
import type { KindCommand, KindRegistry } from './resource-kind.js';
import { ownerProblem } from './record-owner.js';
import { takeParsed } from './parsed-commands.js';

/** The JSON format. */
export const COMMAND_FORMAT_VERSION = 1;
/** The binary format: a JSON header and one field of raw bytes. */
export const COMMAND_FORMAT_BINARY = 2;
/** The largest encoded command: checked on the encoded bytes, so every entry can be sent. */
export const MAX_ENCODED_COMMAND_BYTES = MAX_ENTRY_BYTES;
export const MAX_CLIENT_ID_BYTES = 256;

/**
 * Client ids of the controllers' own reports of their agents (hub-driver.ts). The client API
 * refuses them (client-tag.ts): a client that sent one with a high seq would have every later
 * report of that controller refused as stale.
 */
export const CONTROLLER_CLIENT_ID_PREFIX = 'agents/';

/** Identifies a client request for exactly-once application of retries. */
export interface ClientTag {
  readonly id: string;
  /** Increases with every new request from this client; a retry reuses it. */
  readonly seq: number;
  /**
   * Set on a re-send of a request whose earlier attempt may have been applied (its answer never
   * came). An id the table does not know is then refused as expired rather than applied anew,
   * once the table may have dropped records (dedup.ts). Proposed only from cluster version
   * SESSION_EXPIRY_VERSION: older members refuse the field.
   */
  readonly retry?: boolean;
  /**
   * Whose record this is: the caller's identity as the controller that took the request saw it
   * (record-owner.ts). A full table evicts from the owner holding the most records (dedup.ts).
   * Proposed only from cluster version CLIENT_SHARE_VERSION: older members refuse the field.
   */
  readonly owner?: string;
}

/** A command as proposed: a kind's command plus the optional dedup tag. */
export type Envelope<C extends KindCommand = KindCommand> = C & { readonly client?: ClientTag };

export interface DecodedCommand<C extends KindCommand = KindCommand> {
  /** The kind's own command, without the envelope's `client`. */
  readonly command: C;
  readonly client: ClientTag | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
// U+0001 encodes as the single byte 0x01, so prefixing the string gives the version byte for free.
const VERSION_PREFIX = String.fromCharCode(COMMAND_FORMAT_VERSION);
const BINARY_FIXED_BYTES = 1 + 1 + 4;

/** What validateCommand made of a command object, and under which registry. */
interface Checked {
  readonly registry: KindRegistry;
  readonly decoded: DecodedCommand;
}

/**
 * What decodeCommand gives for bytes encoded from a validated kv command: `decoded`, with, for a
 * put, its value copied out of the bytes' last `valueBytes` at the decode (a copy made at encode
 * would hold every in-flight put's value twice until its apply).
 */
interface Encoded {
  readonly registry: KindRegistry;
  readonly decoded: DecodedCommand;
  readonly valueBytes: number | null;
}

/** kv commands validated (validateCommand), by the object validated: encodeCommand looks here. */
const checkedKv = new WeakMap<object, Checked>();

/**
 * The decoded form of entry bytes this process encoded from a validated kv command (or a parsed
 * command: encodeParsed), until it is decoded once: the leader applies its own entries without parsing and checking again what it
 * checked when it proposed them (the JSON parse and the checks were a third of a leader's apply,
 * on the path between a put's commit and its answer). Keyed by the bytes' identity, which the
 * Raft log keeps from the proposal to the apply; any other bytes (a follower's, a restart's,
 * a snapshot's) are decoded as before. What it holds is what decodeCommand would return for
 * those bytes: the same fields, and the value a copy of the bytes after the header.
 */
const encodedKv = new WeakMap<Uint8Array, Encoded>();

/** A remembered put's value until its decode copies it out of the entry. */
const NO_VALUE = new Uint8Array(0);

/**
 * Remembers the decoded form of a validated kv command's bytes (encodedKv). Only kv: its parse
 * passes every field through as the JSON round trip gives it back (strings, safe integers,
 * the value's bytes), except the value, which decode copies out of the entry and so is
 * copied out at the decode here too, and -0, which JSON writes as 0 (not remembered: decoded
 * as before). The validated value (the caller's, maybe a view of a larger request) is not kept.
 */
function rememberKv(command: object, data: Uint8Array): void {
  const checked = checkedKv.get(command);
  if (checked === undefined) return;
  checkedKv.delete(command);
  if (!saysWhatWasChecked(command, checked.decoded)) return;
  const kv = checked.decoded.command as { readonly op?: unknown; readonly value?: unknown; readonly ifRevision?: unknown };
  const client = checked.decoded.client;
  if (Object.is(kv.ifRevision, -0) || (client !== null && Object.is(client.seq, -0))) return;
  if (kv.op !== 'put') {
    encodedKv.set(data, { registry: checked.registry, decoded: checked.decoded, valueBytes: null });
    return;
  }
  if (!(kv.value instanceof Uint8Array) || data[0] !== COMMAND_FORMAT_BINARY) return;
  // The value's place kept (the fields in a follower's order), filled at the decode.
  const fields = { ...checked.decoded.command, value: NO_VALUE } as KindCommand;
  encodedKv.set(data, { registry: checked.registry, decoded: { command: fields, client }, valueBytes: kv.value.byteLength });
}

/**
 * Encodes a command its kind's own parse gave (the agents' reports the leader takes, parsed and
 * checked where it proposes them: src/api/mesh-ops.ts) with the client tag to put beside it, the
 * same bytes as encodeCommand, and remembers what decodeCommand would give for them, as for a
 * validated kv command (encodedKv): the leader then applies the report without parsing and
 * checking it again. Remembered only when the kind says its parse's output comes back from JSON
 * as it was (parsesAsJsonGivesBack), the command is that parse's output (markParsed: not built
 * by hand), none of its numbers is -0 and the tag decodes (the tag is
 * not checked before; the decode checks it, so a bad one is refused by every member alike).
 */
export function encodeParsed<C extends KindCommand>(command: C, client: ClientTag | null, registry: KindRegistry = DEFAULT_REGISTRY): Uint8Array {
  const data = encodeCommand(client === null ? command : { ...command, client });
  if (!takeParsed(command) || registry.get(command.kind)?.parsesAsJsonGivesBack !== true || holdsNegativeZero(command, 0)) return data;
  let tag: ClientTag | null = null;
  if (client !== null) {
    try {
      // As the decode reads it: from its JSON (a field JSON leaves out is absent there too).
      tag = parseClient(JSON.parse(JSON.stringify(client)));
    } catch {
      return data;
    }
  }
  encodedKv.set(data, { registry, decoded: { command, client: tag }, valueBytes: null });
  return data;
}

/** Whether a -0 is anywhere in `value` (past a depth no parsed command reaches, assumed so). */
function holdsNegativeZero(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Object.is(value, -0);
  if (typeof value !== 'object' || value === null) return false;
  if (depth > 16) return true;
  if (Array.isArray(value)) {
    for (const v of value as readonly unknown[]) if (holdsNegativeZero(v, depth + 1)) return true;
    return false;
  }
  for (const k in value) if (holdsNegativeZero((value as Readonly<Record<string, unknown>>)[k], depth + 1)) return true;
  return false;
}

/** The envelope's fields with a value, as JSON writes them (undefined ones are left out). */
function definedKeys(o: object): string[] {
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
}

/**
 * Whether `command` still says what validateCommand checked: a caller that changed the object in
 * between (a field set, added or removed, its client tag's too) would have the leader apply what
 * was validated and every follower what was encoded. Such bytes are decoded as before.
 */
function saysWhatWasChecked(command: object, decoded: DecodedCommand): boolean {
  const now = command as Readonly<Record<string, unknown>>;
  const was = decoded.command as unknown as Readonly<Record<string, unknown>>;
  const fields = definedKeys(now).filter((k) => k !== 'client');
  if (fields.length !== definedKeys(was).length || fields.some((k) => now[k] !== was[k])) return false;
  const client = now['client'];
  const tag = decoded.client;
  if (tag === null) return client === undefined;
  if (!isRecord(client) || client['id'] !== tag.id || client['seq'] !== tag.seq || client['owner'] !== tag.owner) return false;
  if ((client['retry'] === true) !== (tag.retry === true)) return false;
  return definedKeys(client).every((k) => k === 'id' || k === 'seq' || k === 'owner' || k === 'retry');
}

/**
 * Serialize a command, refusing (CommandError) one whose encoding exceeds the entry limit.
 * Does not validate: call validateCommand first on untrusted input.
 */
export function encodeCommand<C extends KindCommand>(command: Envelope<C>): Uint8Array {
  const binary = Object.entries(command).filter((kv): kv is [string, Uint8Array] => kv[1] instanceof Uint8Array);
  let data: Uint8Array;
  if (binary.length === 0) {
    data = encoder.encode(VERSION_PREFIX + JSON.stringify(command));
  } else if (binary.length === 1) {
    const [name, payload] = binary[0]!;
    const rest = Object.fromEntries(Object.entries(command).filter(([k]) => k !== name));
    data = binaryFrame(name, encoder.encode(JSON.stringify(rest)), payload);
  } else {
    throw new CommandError(`command: expected at most one field of bytes, found ${binary.map(([k]) => k).join(', ')}`);
  }
  if (data.byteLength > MAX_ENCODED_COMMAND_BYTES) {
    throw new CommandError(
      `command: expected at most ${MAX_ENCODED_COMMAND_BYTES} bytes encoded (a value of at most 1 MiB with its key), found ${data.byteLength}`,
    );
  }
  if (command.kind === 'kv') rememberKv(command, data);
  return data;
}

function binaryFrame(name: string, header: Uint8Array, payload: Uint8Array): Uint8Array {
  const nameBytes = encoder.encode(name);
  if (nameBytes.byteLength > 255) throw new CommandError(`command: a field name of at most 255 bytes, found ${nameBytes.byteLength}`);
  const out = new Uint8Array(BINARY_FIXED_BYTES + nameBytes.byteLength + header.byteLength + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = COMMAND_FORMAT_BINARY;
  out[1] = nameBytes.byteLength;
  out.set(nameBytes, 2);
  let at = 2 + nameBytes.byteLength;
  view.setUint32(at, header.byteLength);
  at += 4;
  out.set(header, at);
  out.set(payload, at + header.byteLength);
  return out;
}

export function decodeCommand(data: Uint8Array, registry: KindRegistry = DEFAULT_REGISTRY): DecodedCommand {
  const known = encodedKv.get(data);
  if (known !== undefined) {
    encodedKv.delete(data);
    if (known.registry === registry) {
      if (known.valueBytes === null) return known.decoded;
      // Copied, as splitBinary copies it: the value outlives the entry buffer it came in.
      return { command: { ...known.decoded.command, value: data.slice(data.byteLength - known.valueBytes) } as KindCommand, client: known.decoded.client };
    }
  }
  if (data.length === 0) throw new CommandError('command: expected a version byte and JSON, found 0 bytes');
  if (data[0] !== COMMAND_FORMAT_VERSION && data[0] !== COMMAND_FORMAT_BINARY) {
    throw new CommandError(`command: expected format version ${COMMAND_FORMAT_VERSION} or ${COMMAND_FORMAT_BINARY}, found byte ${data[0]}`);
  }
  if (data.length > MAX_ENCODED_COMMAND_BYTES) {
    throw new CommandError(`command: expected at most ${MAX_ENCODED_COMMAND_BYTES} bytes, found ${data.length}`);
  }
  if (data[0] === COMMAND_FORMAT_VERSION) return validateWith(parseJson(data.subarray(1), 'after the version byte'), registry, null);
  const { header, payload } = splitBinary(data);
  return validateWith(parseJson(header, 'in the header'), registry, payload);
}

function splitBinary(data: Uint8Array): { header: Uint8Array; payload: Payload } {
  const bad = (what: string): never => {
    throw new CommandError(`command (format ${COMMAND_FORMAT_BINARY}): ${what}`);
  };
  if (data.length < BINARY_FIXED_BYTES) bad(`expected at least ${BINARY_FIXED_BYTES} bytes, found ${data.length}`);
  const nameLen = data[1]!;
  if (nameLen === 0) bad('expected the name of the bytes field, found an empty name');
  const headerAt = 2 + nameLen + 4;
  if (data.length < headerAt) bad(`expected a ${nameLen}-byte field name and a header length, found ${data.length} bytes in all`);
  let name: string;
  try {
    name = decoder.decode(data.subarray(2, 2 + nameLen));
  } catch {
    return bad('expected a UTF-8 field name');
  }
  const headerLen = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(2 + nameLen);
  if (headerAt + headerLen > data.length) bad(`header length says ${headerLen} bytes, ${data.length - headerAt} remain`);
  // Copied: the value outlives the entry buffer it came in.
  return { header: data.subarray(headerAt, headerAt + headerLen), payload: { name, bytes: data.slice(headerAt + headerLen) } };
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new CommandError(`command: expected UTF-8 JSON ${where}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Check an untrusted command object against its kind's rules and limits; returns it narrowed
 * or throws CommandError. The API layer calls this to refuse a command before proposing it.
 * A field of bytes may be given as a Uint8Array.
 */
export function validateCommand(value: unknown, registry: KindRegistry = DEFAULT_REGISTRY): DecodedCommand {
  const decoded = validateWith(value, registry, null);
  if (decoded.command.kind === 'kv' && isRecord(value)) checkedKv.set(value, { registry, decoded });
  return decoded;
}

function validateWith(value: unknown, registry: KindRegistry, payload: Payload | null): DecodedCommand {
  if (payload !== null && isRecord(value) && value[payload.name] !== undefined) {
    throw new CommandError(`command: field "${payload.name}" is both in the header and in the bytes frame`);
  }
  const fields: Fields = Fields.of(value, 'command', (m) => new CommandError(m), payload);
  const kindName = fields.raw['kind'];
  if (typeof kindName !== 'string') fields.fail(`field "kind" must be a string, found ${describe(kindName)}`);
  const kind = registry.get(kindName);
  if (kind === undefined) fields.fail(`unknown kind "${kindName}"`);
  const client = fields.has('client') ? parseClient(fields.raw['client']) : null;
  return { command: kind.parse(fields), client };
}

const CLIENT_FIELDS = new Set(['id', 'seq', 'retry', 'owner']);

function parseClient(value: unknown): ClientTag {
  const f = Fields.of(value, 'command.client', (m) => new CommandError(m)).only(CLIENT_FIELDS);
  const tag = { id: f.string('id', { nonEmpty: true, maxBytes: MAX_CLIENT_ID_BYTES }), seq: f.int('seq', { min: 0 }) };
  const marked = f.has('retry') && f.boolean('retry') ? { ...tag, retry: true } : tag;
  if (!f.has('owner')) return marked;
  const owner = f.string('owner');
  const problem = ownerProblem(owner);
  if (problem !== null) f.fail(`field "owner" ${problem}`);
  return { ...marked, owner };
}
