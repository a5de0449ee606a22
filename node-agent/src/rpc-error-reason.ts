import { Code, ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema } from '@foundation/contracts';

/** The ErrorInfo reason the platform put on an error ("NODE_REVOKED"), or undefined when it has none. */
export function reasonOf(error: unknown): string | undefined {
  return ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason;
}

/** One line for people: the server's message and its reason, or what the transport said. */
export function describeRpcError(error: unknown): string {
  const connectError = ConnectError.from(error);
  const reason = reasonOf(connectError);
  const code = Code[connectError.code];
  return reason === undefined ? `${connectError.rawMessage} (${code})` : `${connectError.rawMessage} (${reason})`;
}
