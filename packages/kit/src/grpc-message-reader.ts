import type http2 from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';

/** gRPC's length prefix: one byte of flags, four of length (big-endian). */
const PREFIX_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/**
 * The request messages of a gRPC stream read straight off its `ServerHttp2Stream`: length-prefixed
 * frames cut from the DATA chunks and parsed as they arrive, for GrpcBidiStreams. What it throws is what
 * connect-es's pipeline throws in the same case, with the same messages (error-mapping.ts recognises
 * them): a frame over `readMaxBytes` (RESOURCE_EXHAUSTED, at its prefix, before its body is buffered), a
 * compressed frame (the stream negotiated no compression: requests that name one go to connect-node), a
 * message that is not valid protobuf (`parse` throws), a frame cut short by the end of the stream.
 * Messages read before an error come first.
 *
 * Reading pauses while a parsed message waits for its consumer, so a slow consumer holds the sender back
 * through HTTP/2 flow control, as connect-es's pull-based pipeline does.
 */
export class GrpcMessageReader<T> implements AsyncIterableIterator<T> {
  readonly #waiting: T[] = [];
  /** DATA chunks not yet cut into frames, and their total length. */
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** The body length of the frame whose prefix was read, while its body is incomplete. */
  #bodyBytes: number | undefined;
  #end: { done: true } | { error: unknown } | undefined;
  #paused = false;
  #consumer: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly parse: (data: Uint8Array) => T,
    private readonly readMaxBytes: number,
  ) {
    stream.on('data', this.#onData);
    stream.once('end', this.#onEnd);
    // A stream reset or destroyed ends the requests as the compat layer does: without an error (the
    // call's signal carries the reset).
    stream.once('close', this.#onEnd);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#waiting.length > 0) {
      const value = this.#waiting.shift()!;
      if (this.#waiting.length === 0 && this.#paused && this.#end === undefined) {
        this.#paused = false;
        this.stream.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#end !== undefined) {
      if ('error' in this.#end) {
        const { error } = this.#end;
        // Thrown once, as a generator would: the iterator is done after it.
        this.#end = { done: true };
        return Promise.reject(error);
      }
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => (this.#consumer = { resolve, reject }));
  }

  /** The consumer stops reading: what else the client sends is read and dropped. */
  return(): Promise<IteratorResult<T>> {
    this.#finish({ done: true });
    this.#waiting.length = 0;
    if (this.#paused) this.stream.resume();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Ends the requests with `error` after the messages read so far (a malformed grpc-timeout, say). */
  fail(error: unknown): void {
    this.#finish({ error });
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#end !== undefined) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    try {
      for (;;) {
        if (this.#bodyBytes === undefined) {
          if (this.#buffered < PREFIX_BYTES) break;
          const prefix = this.#take(PREFIX_BYTES);
          const length = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES).getUint32(1);
          if (length > this.readMaxBytes) {
            throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`, Code.ResourceExhausted);
          }
          if ((prefix[0]! & COMPRESSED_FLAG) === COMPRESSED_FLAG) {
            throw new ConnectError('received compressed envelope, but do not know how to decompress', Code.Internal);
          }
          this.#bodyBytes = length;
        }
        if (this.#buffered < this.#bodyBytes) break;
        const body = this.#take(this.#bodyBytes);
        this.#bodyBytes = undefined;
        this.#deliver(this.parse(body));
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.#waiting.length > 0 && !this.#paused) {
      this.#paused = true;
      this.stream.pause();
    }
  };

  readonly #onEnd = (): void => {
    if (this.#end !== undefined) return;
    const incomplete = this.#bodyBytes !== undefined || this.#buffered > 0;
    this.#finish(incomplete ? { error: new ConnectError('protocol error: incomplete envelope', Code.InvalidArgument) } : { done: true });
  };

  #deliver(message: T): void {
    const consumer = this.#consumer;
    if (consumer) {
      this.#consumer = undefined;
      consumer.resolve({ done: false, value: message });
    } else {
      this.#waiting.push(message);
    }
  }

  #finish(end: { done: true } | { error: unknown }): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#chunks.length = 0;
    this.#buffered = 0;
    this.stream.off('data', this.#onData);
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer && this.#waiting.length === 0) {
      if ('error' in end) {
        this.#end = { done: true };
        consumer.reject(end.error);
      } else {
        consumer.resolve({ done: true, value: undefined });
      }
    }
  }

  /**
   * The next `length` bytes as a copy of their own (not a view of a DATA chunk, which a message's bytes
   * fields would otherwise keep alive; nor of Buffer's shared pool).
   */
  #take(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let offset = 0;
    while (offset < length) {
      const chunk = this.#chunks[0]!;
      const wanted = length - offset;
      if (chunk.byteLength > wanted) {
        out.set(chunk.subarray(0, wanted), offset);
        this.#chunks[0] = chunk.subarray(wanted);
        offset = length;
      } else {
        out.set(chunk, offset);
        this.#chunks.shift();
        offset += chunk.byteLength;
      }
    }
    this.#buffered -= length;
    return out;
  }
}
