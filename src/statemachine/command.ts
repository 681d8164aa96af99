/**
 * The command envelope and its wire form. An entry's data is one version byte followed by the
 * command as UTF-8 JSON: cheap to produce, readable in a log dump, and the version byte lets a
 * later format coexist with this one.
 *
 * Decoding is total over its input: garbage, unknown kinds, missing or mistyped fields and
 * oversized values all become a CommandError, never a crash, because the same bytes are
 * decoded on every node and a throw there would take the whole cluster down.
 */
import { describe, Fields } from '../util/untrusted.js';
import { CommandError } from './errors.js';
import { DEFAULT_REGISTRY } from './kinds.js';
import type { KindCommand, KindRegistry } from './resource-kind.js';

export const COMMAND_FORMAT_VERSION = 1;
/** Nothing legitimate comes close: values are at most 1 MiB before JSON escaping. */
export const MAX_ENCODED_COMMAND_BYTES = 8 * 1024 * 1024;
export const MAX_CLIENT_ID_BYTES = 256;

/** Identifies a client request for exactly-once application of retries. */
export interface ClientTag {
  readonly id: string;
  /** Increases with every new request from this client; a retry reuses it. */
  readonly seq: number;
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

/** Serialize a command. Does not validate: call validateCommand first on untrusted input. */
export function encodeCommand<C extends KindCommand>(command: Envelope<C>): Uint8Array {
  return encoder.encode(VERSION_PREFIX + JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array, registry: KindRegistry = DEFAULT_REGISTRY): DecodedCommand {
  if (data.length === 0) throw new CommandError('command: expected a version byte and JSON, found 0 bytes');
  if (data[0] !== COMMAND_FORMAT_VERSION) {
    throw new CommandError(`command: expected format version ${COMMAND_FORMAT_VERSION}, found byte ${data[0]}`);
  }
  if (data.length > MAX_ENCODED_COMMAND_BYTES) {
    throw new CommandError(`command: expected at most ${MAX_ENCODED_COMMAND_BYTES} bytes, found ${data.length}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data.subarray(1)));
  } catch (err) {
    throw new CommandError(`command: expected UTF-8 JSON after the version byte: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return validateCommand(value, registry);
}

/**
 * Check an untrusted command object against its kind's rules and limits; returns it narrowed
 * or throws CommandError. The API layer calls this to refuse a command before proposing it.
 */
export function validateCommand(value: unknown, registry: KindRegistry = DEFAULT_REGISTRY): DecodedCommand {
  const fields: Fields = Fields.of(value, 'command', (m) => new CommandError(m));
  const kindName = fields.raw['kind'];
  if (typeof kindName !== 'string') fields.fail(`field "kind" must be a string, found ${describe(kindName)}`);
  const kind = registry.get(kindName);
  if (kind === undefined) fields.fail(`unknown kind "${kindName}"`);
  const client = fields.has('client') ? parseClient(fields.raw['client']) : null;
  return { command: kind.parse(fields), client };
}

function parseClient(value: unknown): ClientTag {
  const f = Fields.of(value, 'command.client', (m) => new CommandError(m)).only(new Set(['id', 'seq']));
  return { id: f.string('id', { nonEmpty: true, maxBytes: MAX_CLIENT_ID_BYTES }), seq: f.int('seq', { min: 0 }) };
}
