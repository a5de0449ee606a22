import { EventEmitter } from 'node:events';
import type http2 from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import { expect } from 'chai';
import { GrpcMessageReader } from '../src/grpc-message-reader.js';

/** The part of a ServerHttp2Stream the reader uses: its events, and whether it was paused. */
class FakeStream extends EventEmitter {
  paused = false;
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

function frame(text: string, flags = 0): Buffer {
  const body = Buffer.from(text);
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function reader(readMaxBytes = 100) {
  const stream = new FakeStream();
  const messages = new GrpcMessageReader(stream as unknown as http2.ServerHttp2Stream, (data) => Buffer.from(data).toString(), readMaxBytes);
  return { stream, messages };
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => expect.fail('resolved'),
    (e: unknown) => e as ConnectError,
  );
}

describe('GrpcMessageReader', () => {
  it('cuts frames split across DATA chunks and several in one chunk, in order', async () => {
    const { stream, messages } = reader();
    const bytes = Buffer.concat([frame('one'), frame('two'), frame('three')]);
    stream.emit('data', bytes.subarray(0, 3));
    stream.emit('data', bytes.subarray(3, 12));
    stream.emit('data', bytes.subarray(12));
    stream.emit('end');
    const read: string[] = [];
    for await (const message of messages) read.push(message);
    expect(read).to.deep.equal(['one', 'two', 'three']);
  });

  it('pauses the stream while a message waits for its consumer, and resumes it once all are taken', async () => {
    const { stream, messages } = reader();
    stream.emit('data', Buffer.concat([frame('a'), frame('b')]));
    expect(stream.paused).to.equal(true);
    expect((await messages.next()).value).to.equal('a');
    expect(stream.paused).to.equal(true);
    expect((await messages.next()).value).to.equal('b');
    expect(stream.paused).to.equal(false);
    const waiting = messages.next();
    stream.emit('data', frame('c'));
    expect((await waiting).value).to.equal('c');
    expect(stream.paused).to.equal(false);
  });

  it('refuses a frame over readMaxBytes at its prefix, after the messages before it', async () => {
    const { stream, messages } = reader(10);
    stream.emit('data', Buffer.concat([frame('small'), frame('far too large a message')]));
    expect((await messages.next()).value).to.equal('small');
    const error = await rejection(messages.next());
    expect(error.code).to.equal(Code.ResourceExhausted);
    expect(error.rawMessage).to.equal('message size 23 is larger than configured readMaxBytes 10');
    expect((await messages.next()).done).to.equal(true);
  });

  it('refuses a compressed frame and a frame cut short by the end of the stream', async () => {
    const compressed = reader();
    compressed.stream.emit('data', frame('x', 1));
    expect((await rejection(compressed.messages.next())).rawMessage).to.equal('received compressed envelope, but do not know how to decompress');
    const cut = reader();
    cut.stream.emit('data', frame('whole').subarray(0, 7));
    cut.stream.emit('end');
    const error = await rejection(cut.messages.next());
    expect([error.code, error.rawMessage]).to.deep.equal([Code.InvalidArgument, 'protocol error: incomplete envelope']);
  });

  it('ends without an error when the stream closes (a reset reaches the call through its signal)', async () => {
    const { stream, messages } = reader();
    const waiting = messages.next();
    stream.emit('close');
    expect(await waiting).to.deep.equal({ done: true, value: undefined });
  });

  it('passes on what parse throws, and drops what arrives once the consumer returned', async () => {
    const stream = new FakeStream();
    const messages = new GrpcMessageReader(stream as unknown as http2.ServerHttp2Stream, () => {
      throw new ConnectError('parse binary: premature EOF', Code.Internal);
    }, 100);
    stream.emit('data', frame('x'));
    expect((await rejection(messages.next())).rawMessage).to.equal('parse binary: premature EOF');

    const returned = reader();
    returned.stream.emit('data', Buffer.concat([frame('a'), frame('b')]));
    await returned.messages.return();
    expect(returned.stream.paused).to.equal(false);
    expect(returned.stream.listenerCount('data')).to.equal(0);
    expect((await returned.messages.next()).done).to.equal(true);
  });
});
