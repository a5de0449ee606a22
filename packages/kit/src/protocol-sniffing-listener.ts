import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');
/** Enough bytes to tell "PRI " from the HTTP/1.1 methods that also start with P (POST, PUT, PATCH). */
const SNIFF_BYTES = 4;

/**
 * One cleartext port for HTTP/2 (gRPC, as Envoy and gRPC clients speak it) and HTTP/1.1 (Connect with
 * curl, browsers). Node's cleartext http2 server cannot fall back to HTTP/1.1, so this reads the first
 * bytes of each connection and hands the socket to whichever server speaks what the client sent.
 */
export function createProtocolSniffingListener(h1: http.Server, h2: http2.Http2Server): net.Server {
  return net.createServer({ noDelay: true }, (socket) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < SNIFF_BYTES && HTTP2_PREFACE.subarray(0, received.length).equals(received)) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(received);
      const isHttp2 = HTTP2_PREFACE.subarray(0, Math.min(received.length, HTTP2_PREFACE.length)).equals(
        received.subarray(0, HTTP2_PREFACE.length),
      );
      // The http2 session reads the unshifted bytes itself; resuming would hand them to nobody. The
      // HTTP/1 parser reads through the stream, which must flow again.
      if (isHttp2) {
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
}
