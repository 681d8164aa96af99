/**
 * Loads .proto files at runtime (no codegen). The files live in <package root>/proto; this
 * module is compiled to dist/src/transport/, so the root is found by walking up from here
 * to the first directory holding both package.json and proto/.
 *
 * Each service's methods get exactly the codecs @grpc/proto-loader would give them (protobufjs
 * `fromObject` + `encode` out, `decode` + `toObject` with PROTO_DECODE_OPTIONS in), built
 * here from protobufjs directly: proto-loader also builds and encodes a reflection descriptor
 * of every message, which nothing here reads and which was a quarter of a `ctl` command's CPU
 * (grpc-js itself keeps proto-loader off its start path for the same reason).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { TransportError } from './errors.js';

/** Shared by every proto: camelCase fields, uint64 as number (indexes fit in 2^53), enums
 * by name, absent fields filled with their defaults so decoders see every field. */
export const PROTO_DECODE_OPTIONS: protobuf.IConversionOptions = {
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

/**
 * Loads `<root>/proto/<fileName>`; imports between protos resolve against <root>/proto. The
 * result holds the file's services by full name (`controller.peer.RaftPeer` at
 * `root.controller.peer.RaftPeer`), as grpc-js's loadPackageDefinition would place them.
 */
export function loadProto(fileName: string): grpc.GrpcObject {
  const known = loaded.get(fileName);
  if (known !== undefined) return known;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  root.loadSync(path.join(dir, fileName), { keepCase: false });
  root.resolveAll();
  const services: grpc.GrpcObject = {};
  for (const service of servicesOf(root)) place(services, service.fullName.replace(/^\./, ''), serviceClient(service));
  loaded.set(fileName, services);
  return services;
}

function servicesOf(ns: protobuf.NamespaceBase): protobuf.Service[] {
  return ns.nestedArray.flatMap((o) => (o instanceof protobuf.Service ? [o] : o instanceof protobuf.Namespace ? servicesOf(o) : []));
}

function place(tree: grpc.GrpcObject, fullName: string, value: grpc.ServiceClientConstructor): void {
  const parts = fullName.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node = node[part] = {};
    else if (typeof next === 'object' && !('format' in next)) node = next as grpc.GrpcObject;
    else throw new TransportError('PROTO', `expected a package at ${part} of ${fullName}, found a service`);
  }
  node[parts[parts.length - 1]!] = value;
}

function serviceClient(service: protobuf.Service): grpc.ServiceClientConstructor {
  const name = service.fullName.replace(/^\./, '');
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    if (request === null || response === null) throw new TransportError('PROTO', `expected resolved types for ${name}.${method.name}, found none`);
    definition[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return grpc.makeGenericClientConstructor(definition, name);
}

function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    // protobufjs gives a Buffer of its own under Node: copying it again cost a 10 MB answer
    // (an unpaged listing) a 10 MB allocation and copy more, and gRPC copies it into its frame anyway.
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), PROTO_DECODE_OPTIONS);
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
