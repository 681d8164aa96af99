/** etcd's services from bench/etcd.proto (compiled code lives in dist/bench/), loaded once. */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

let etcd: grpc.GrpcObject | null = null;

export function etcdService(name: 'KV' | 'Watch'): grpc.ServiceClientConstructor {
  if (etcd === null) {
    const file = fileURLToPath(new URL('../../bench/etcd.proto', import.meta.url));
    etcd = grpc.loadPackageDefinition(protoLoader.loadSync(file, { longs: Number, defaults: true, oneofs: true }))['etcdserverpb'] as grpc.GrpcObject;
  }
  return etcd[name] as grpc.ServiceClientConstructor;
}
