import { fromBinary, fromJsonString } from '@bufbuild/protobuf';
import { createContextValues, type ConnectRouter } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol';
import { malformedRequestKey } from './request-context.js';

/**
 * connect-es decodes a unary request body before any interceptor runs and reports a body that is not valid
 * protobuf (truncated, wrong wire types, invalid UTF-8 in a string) as INTERNAL, and bad JSON without an
 * ErrorInfo reason. INTERNAL tells a client the server broke when the client did. This wrapper decodes
 * unary bodies first; when one fails, the call proceeds with an empty message and a context flag, and the
 * request interceptor answers INVALID_ARGUMENT (MALFORMED_REQUEST) through the protocol's own error path.
 * Compressed bodies are passed through untouched. (Streaming bodies are decoded inside the interceptors,
 * where error-mapping.ts sees them.)
 */
export function rejectMalformedUnaryBodies(router: ConnectRouter, readMaxBytes: number): void {
  const handlers = router.handlers as UniversalHandler[];
  handlers.forEach((handler, i) => {
    if (handler.method.methodKind === 'unary') handlers[i] = wrap(handler, readMaxBytes);
  });
}

const ENVELOPE_HEADER_BYTES = 5;
const EMPTY_BODY: Record<Framing, Uint8Array> = {
  enveloped: new Uint8Array(ENVELOPE_HEADER_BYTES),
  binary: new Uint8Array(0),
  json: new TextEncoder().encode('{}'),
};
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function wrap(handler: UniversalHandler, readMaxBytes: number): UniversalHandler {
  const validated = async (req: UniversalServerRequest) => {
    const framing = framingOf(req);
    if (!framing || !isByteStream(req.body)) return handler(req);
    const body = await readUpTo(req.body, readMaxBytes + ENVELOPE_HEADER_BYTES);
    const problem = body.complete ? decodeProblem(handler, framing, body.bytes) : undefined;
    if (problem === undefined) return handler({ ...req, body: body.stream });
    const contextValues = req.contextValues ?? createContextValues();
    contextValues.set(malformedRequestKey, problem);
    const empty = EMPTY_BODY[framing];
    const header = new Headers(req.header);
    header.delete('content-length');
    return handler({ ...req, header, body: single(empty), contextValues });
  };
  return Object.assign(validated, handler);
}

type Framing = 'enveloped' | 'binary' | 'json';

function framingOf(req: UniversalServerRequest): Framing | undefined {
  const type = req.header.get('content-type') ?? '';
  if (req.header.get('content-encoding') || (req.header.get('grpc-encoding') ?? 'identity') !== 'identity') return undefined;
  if (/^application\/grpc(-web)?(\+proto)?(;|$)/.test(type)) return 'enveloped';
  if (/^application\/proto(;|$)/.test(type)) return 'binary';
  if (/^application\/json(;|$)/.test(type)) return 'json';
  return undefined;
}

function decodeProblem(handler: UniversalHandler, framing: Framing, bytes: Uint8Array): string | undefined {
  let message = bytes;
  if (framing === 'enveloped') {
    if (bytes.length < ENVELOPE_HEADER_BYTES || (bytes[0]! & 0x01) !== 0) return undefined;
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
    if (bytes.length !== ENVELOPE_HEADER_BYTES + length) return undefined;
    message = bytes.subarray(ENVELOPE_HEADER_BYTES);
  }
  try {
    if (framing === 'json') fromJsonString(handler.method.input, strictUtf8.decode(message), { ignoreUnknownFields: true });
    else fromBinary(handler.method.input, message);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/** Buffers the body up to `limit` bytes; past that, hands the rest on unread so connect enforces its limit. */
async function readUpTo(body: AsyncIterable<Uint8Array>, limit: number) {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) return { complete: false, bytes: new Uint8Array(0), stream: concatWithRest(chunks, iterator) };
  }
  const bytes = Buffer.concat(chunks);
  return { complete: true, bytes, stream: single(bytes) };
}

async function* concatWithRest(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
