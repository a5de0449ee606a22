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
 *
 * Neither inner server listens itself, so neither can find its connections at shutdown
 * (`closeIdleConnections` only knows sockets of a listening server): this listener tracks them instead.
 */
export class ProtocolSniffingListener {
  readonly server: net.Server;
  private readonly sessions = new Set<http2.Http2Session>();
  private readonly h1Sockets = new Set<net.Socket>();
  /** Connections that have not yet sent enough bytes to be handed to either server. */
  private readonly unsniffed = new Set<net.Socket>();
  private readonly busyH1Sockets = new Set<net.Socket>();
  private closing = false;

  constructor(
    private readonly h1: http.Server,
    private readonly h2: http2.Http2Server,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.sniff(socket));
    h2.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      this.busyH1Sockets.add(socket);
      if (this.closing) res.shouldKeepAlive = false;
      res.once('close', () => {
        this.busyH1Sockets.delete(socket);
        if (this.closing) socket.end();
      });
    });
  }

  /**
   * Stops accepting, asks HTTP/2 clients to go away once their streams finish, and closes idle HTTP/1.1
   * connections (busy ones close after their response) and those that have not sent a request yet.
   * Resolves when every connection is gone.
   */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const socket of this.h1Sockets) if (!this.busyH1Sockets.has(socket)) socket.end();
    // No call is in flight on these and neither server knows them: one silent client would otherwise
    // keep the listener from ever closing.
    for (const socket of this.unsniffed) socket.destroy();
    return closed;
  }

  /** Ends every connection at once, for when in-flight calls outlive the grace period. */
  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.h1Sockets) socket.destroy();
  }

  private sniff(socket: net.Socket): void {
    this.unsniffed.add(socket);
    const onClose = () => this.unsniffed.delete(socket);
    socket.once('close', onClose);
    // Held only while fewer than SNIFF_BYTES arrived (rarely: the first read carries the whole preface).
    let received: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      const bytes = received ? Buffer.concat([received, chunk]) : chunk;
      if (bytes.length < SNIFF_BYTES && HTTP2_PREFACE.subarray(0, bytes.length).equals(bytes)) {
        received = bytes;
        return;
      }
      // Nothing of the sniffing may outlive the hand-off: a small Buffer.concat is a slice of an 8 KB pool
      // slab, which a closure kept for the connection's life would pin (4 KB per connection, measured).
      received = undefined;
      this.unsniffed.delete(socket);
      socket.off('close', onClose);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(bytes);
      const isHttp2 = HTTP2_PREFACE.subarray(0, Math.min(bytes.length, HTTP2_PREFACE.length)).equals(bytes.subarray(0, HTTP2_PREFACE.length));
      // The http2 session reads the unshifted bytes itself; resuming would hand them to nobody. The
      // HTTP/1 parser reads through the stream, which must flow again.
      if (isHttp2) {
        this.h2.emit('connection', socket);
      } else {
        this.h1Sockets.add(socket);
        socket.once('close', () => this.h1Sockets.delete(socket));
        this.h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', destroySocket);
  }
}

function destroySocket(this: net.Socket): void {
  this.destroy();
}
