/**
 * Loads .proto files at runtime (no codegen). The files live in <package root>/proto; this
 * module is compiled to dist/src/transport/, so the root is found by walking up from here
 * to the first directory holding both package.json and proto/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TransportError } from './errors.js';

/** Shared by every proto: camelCase fields, uint64 as number (indexes fit in 2^53), enums
 * by name, absent fields filled with their defaults so decoders see every field. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

let cachedRoot: string | null = null;

export function packageRoot(): string {
  if (cachedRoot !== null) return cachedRoot;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'proto'))) {
      cachedRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new TransportError('PROTO', `expected a package root with package.json and proto/ above ${start}, found none`);
    }
  }
}

export function protoDir(): string {
  return path.join(packageRoot(), 'proto');
}

/** Each file parsed once per process: parsing is a tenth of a controller's start-up CPU. */
const loaded = new Map<string, grpc.GrpcObject>();

/** Loads `<root>/proto/<fileName>`; imports between protos resolve against <root>/proto. */
export function loadProto(fileName: string): grpc.GrpcObject {
  const known = loaded.get(fileName);
  if (known !== undefined) return known;
  const file = path.join(protoDir(), fileName);
  const definition = protoLoader.loadSync(file, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
  const root = grpc.loadPackageDefinition(definition);
  loaded.set(fileName, root);
  return root;
}

/** Finds a service by its full name, e.g. `controller.peer.RaftPeer`. */
export function lookupService(root: grpc.GrpcObject, fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of fullName.split('.')) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  }
  if (typeof node === 'function' && 'service' in node) return node as grpc.ServiceClientConstructor;
  throw new TransportError('PROTO', `expected service ${fullName} in the loaded protos, found ${typeof node}`);
}
