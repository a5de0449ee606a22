import { Code, ConnectError } from '@connectrpc/connect';
import { reasonOf } from '@foundation/kit';

/**
 * Awaits a call that must fail and checks its code and ErrorInfo reason; returns the error for further
 * assertions. Fails loudly when the call succeeds.
 */
export async function expectRpcError(call: Promise<unknown>, code: Code, reason?: string): Promise<ConnectError> {
  let error: ConnectError;
  try {
    await call;
  } catch (e) {
    error = ConnectError.from(e);
    if (error.code !== code) {
      throw new Error(`expected ${Code[code]}${reason ? ` (${reason})` : ''}, got ${Code[error.code]}: ${error.rawMessage}`);
    }
    if (reason !== undefined && reasonOf(error) !== reason) {
      throw new Error(`expected reason ${reason}, got ${reasonOf(error) ?? 'none'}: ${error.rawMessage}`);
    }
    return error;
  }
  throw new Error(`expected ${Code[code]}${reason ? ` (${reason})` : ''}, but the call succeeded`);
}
