import { fromBinary, fromJsonString, type DescMessage } from '@bufbuild/protobuf';
import { createContextValues, type ConnectRouter } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol';
import { malformedRequestKey, requestTooLargeKey } from './request-context.js';

/**
 * connect-es decodes a unary request body before any interceptor runs and reports a body that is not valid
 * protobuf (truncated, wrong wire types, invalid UTF-8 in a string) as INTERNAL, and bad JSON or a body
 * over `readMaxBytes` without an ErrorInfo reason, log line or metric. INTERNAL tells a client the server
 * broke when the client did. This wrapper reads unary bodies first (never more than the limit); when one
 * is too large or fails to decode, the call proceeds with an empty message and a context flag, and the
 * request interceptor answers RESOURCE_EXHAUSTED (REQUEST_TOO_LARGE) or INVALID_ARGUMENT
 * (MALFORMED_REQUEST) through the protocol's own error path.
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
    const tooLarge = !body.complete || messageSize(framing, body.bytes) > readMaxBytes;
    const problem = tooLarge ? undefined : decodeProblem(handler, framing, body.bytes);
    if (!tooLarge && problem === undefined) return handler({ ...req, body: single(body.bytes) });
    const contextValues = req.contextValues ?? createContextValues();
    if (tooLarge) contextValues.set(requestTooLargeKey, readMaxBytes);
    else contextValues.set(malformedRequestKey, problem);
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

/** The size of the message in a complete body: an envelope's declared length, or the whole body. */
function messageSize(framing: Framing, bytes: Uint8Array): number {
  if (framing !== 'enveloped' || bytes.length < ENVELOPE_HEADER_BYTES) return bytes.length;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
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
    if (framing === 'json') decodeJson(handler.method.input, strictUtf8.decode(message));
    else fromBinary(handler.method.input, message);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Decodes a JSON message, throwing a problem without the input it quotes: protobuf-es writes "expected
 * string, got 12345" and V8's JSON.parse errors quote the body, which may hold a password or a secret's
 * value. The problem ends up in the client's error and in the log line, so only the field and the
 * expected type are kept.
 */
function decodeJson(schema: DescMessage, json: string): void {
  try {
    fromJsonString(schema, json, { ignoreUnknownFields: true });
  } catch (e) {
    const match = /^(cannot decode (?:field|message|enum) [\w.]+ from JSON)(?:: (expected [a-z0-9 ]+)(?:,|$))?/.exec(e instanceof Error ? e.message : '');
    if (!match) throw new Error('the body is not valid JSON');
    throw new Error(match[2] ? `${match[1]}: ${match[2]}` : match[1]);
  }
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/**
 * Buffers the body up to `limit` bytes. Past that the body is too large whatever follows, but the rest is
 * still read and dropped in the background: ending the iteration would destroy the stream the answer goes
 * out on, and leaving it unread would wedge an HTTP/1.1 keep-alive connection for the client's next call.
 */
async function readUpTo(body: AsyncIterable<Uint8Array>, limit: number): Promise<{ complete: boolean; bytes: Uint8Array }> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) {
      void discardRest(iterator);
      return { complete: false, bytes: new Uint8Array(0) };
    }
  }
  return { complete: true, bytes: Buffer.concat(chunks) };
}

async function discardRest(iterator: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    while (!(await iterator.next()).done);
  } catch {
    // The client went away mid-body: nothing is left to drain.
  }
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
