import { Code, ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema } from '@foundation/contracts';
import { rpcError } from './rpc-error.js';

/** Error codes of Node's sockets that mean a dependency (database, Redis, a service) cannot be reached. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01']);

/** What the database driver, its pool and ioredis throw when their server is gone. */
const UNREACHABLE_NAMES = new Set(['ConnectionException', 'MaxRetriesPerRequestError']);
const UNREACHABLE_MESSAGES = /Connection is closed|connect ECONNREFUSED|Stream isn't writeable|Timeout acquiring a connection|Connection terminated/;

/**
 * Turns whatever a handler threw into the error the client receives. Deliberate errors (a ConnectError
 * with an ErrorInfo, or a framework error such as a deadline) pass unchanged; an unreachable dependency
 * becomes UNAVAILABLE; anything else becomes a generic INTERNAL that quotes the request id, so no stack
 * trace or driver message reaches a client. `isUnexpected` tells the caller to log the original.
 */
export function toClientError(error: unknown, requestId: string): { error: ConnectError; isUnexpected: boolean } {
  if (error instanceof ConnectError && error.rawMessage.startsWith('parse binary:')) {
    // A streaming request message that is not valid protobuf, decoded inside the interceptors.
    return { error: rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', `a request message is not valid protobuf: ${error.rawMessage}`), isUnexpected: false };
  }
  if (error instanceof ConnectError && error.code === Code.ResourceExhausted && error.findDetails(ErrorInfoSchema).length === 0) {
    // A streaming request message over readMaxBytes, refused by connect-es inside the interceptors.
    const size = /larger than configured readMaxBytes (\d+)/.exec(error.rawMessage);
    const limit = size ? `the ${size[1]} bytes` : 'what';
    return { error: rpcError(Code.ResourceExhausted, 'REQUEST_TOO_LARGE', `a request message is larger than ${limit} this server accepts`), isUnexpected: false };
  }
  if (error instanceof ConnectError && !isUnclassified(error)) {
    // Rebuilt without metadata: an error relayed from another service carries that call's response
    // headers (content-type, grpc-status), which must not become this response's headers.
    const relayed = new ConnectError(error.rawMessage, error.code);
    relayed.details.push(...error.details);
    return { error: relayed, isUnexpected: false };
  }
  if (isUnreachableDependency(error)) {
    return {
      error: rpcError(Code.Unavailable, 'DEPENDENCY_UNAVAILABLE', 'a dependency of this service is unreachable; retry shortly'),
      isUnexpected: true,
    };
  }
  return {
    error: rpcError(Code.Internal, 'INTERNAL', `internal error; quote request id ${requestId} when reporting it`),
    isUnexpected: true,
  };
}

/** INTERNAL/UNKNOWN errors without our ErrorInfo come from a bug or a library, never from a decision. */
function isUnclassified(error: ConnectError): boolean {
  return (error.code === Code.Internal || error.code === Code.Unknown) && error.findDetails(ErrorInfoSchema).length === 0;
}

function isUnreachableDependency(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    if (UNREACHABLE_NAMES.has(e.name) || UNREACHABLE_MESSAGES.test(e.message)) return true;
  }
  return false;
}
