import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The raw contracts, as a client in any language would compile them. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const SUPPORT_DIR = fileURLToPath(new URL('./', import.meta.url));

/**
 * Loads `.proto` files the way a third-party grpc-js client does: proto-loader over `proto/` (its bundled
 * copies answer the google/protobuf imports), never the project's generated code.
 */
export function loadProtoPackage(files: string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync(files, {
    includeDirs: [PROTO_DIR, SUPPORT_DIR],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
  });
}

/** A grpc-js client constructor of one service in a loaded package, e.g. `foundation.auth.v1.AuthService`. */
export function serviceClientConstructor(definition: protoLoader.PackageDefinition, serviceName: string): grpc.ServiceClientConstructor {
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of serviceName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`${serviceName} is not a service of the loaded protos`);
  return node as grpc.ServiceClientConstructor;
}

/** host:port of an http://127.0.0.1:PORT base URL, as grpc-js wants it. */
export function grpcTarget(baseUrl: string): string {
  return new URL(baseUrl).host;
}

export interface UnaryOutcome<T> {
  response: T;
  /** The response headers (initial metadata). */
  header: grpc.Metadata;
}

/** Calls a unary method of a proto-loader client and resolves with the response and its headers. */
export function callUnary<T>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<UnaryOutcome<T>> {
  const fn = (client as unknown as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new Error(`the client has no method ${method}`);
  return new Promise((resolve, reject) => {
    let header = new grpc.Metadata();
    const call = (fn as (r: object, m: grpc.Metadata, cb: grpc.requestCallback<T>) => grpc.ClientUnaryCall).call(
      client,
      request,
      metadata,
      (error, response) => (error ? reject(error) : resolve({ response: response as T, header })),
    );
    call.on('metadata', (m: grpc.Metadata) => (header = m));
  });
}

/**
 * Sends `body` as the request message of `path` ("/pkg.Service/Method") byte for byte, for requests no
 * encoder would produce; resolves with the raw response message.
 */
export function callUnaryRaw(client: grpc.Client, path: string, body: Uint8Array, metadata = new grpc.Metadata()): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Uint8Array, Buffer>(
      path,
      (message) => Buffer.from(message),
      (bytes) => bytes,
      body,
      metadata,
      {},
      (error, response) => (error ? reject(error) : resolve(response!)),
    );
  });
}
