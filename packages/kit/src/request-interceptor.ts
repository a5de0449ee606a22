import { randomUUID } from 'node:crypto';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { toClientError } from './error-mapping.js';
import type { Logger } from './logger.js';
import { callerKey, malformedRequestKey, requestIdKey, requestTooLargeKey, tenantKey } from './request-context.js';
import { rpcError } from './rpc-error.js';
import type { RpcMetrics } from './rpc-metrics.js';

const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The outermost interceptor: gives the request its id, turns every error into the client error of
 * error-mapping.ts, and writes one log line and the RPC metrics when the call ends (for a stream, when the
 * stream ends).
 */
export function createRequestInterceptor(log: Logger, metrics: RpcMetrics): Interceptor {
  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const offered = req.header.get(REQUEST_ID_HEADER);
    const requestId = offered && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
    req.contextValues.set(requestIdKey, requestId);
    const service = req.service.typeName;
    const method = req.method.name;

    const finish = (error: unknown): ConnectError | undefined => {
      let clientError: ConnectError | undefined;
      if (error !== undefined) {
        const mapped = toClientError(error, requestId);
        clientError = mapped.error;
        if (mapped.isUnexpected) log.error({ err: error, requestId, rpc: `${service}/${method}` }, 'unexpected error');
      }
      const code = clientError ? codeName(clientError.code) : 'ok';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observe(service, method, code, seconds);
      log.info(
        {
          requestId,
          rpc: `${service}/${method}`,
          orgId: req.contextValues.get(tenantKey)?.orgId,
          userId: req.contextValues.get(callerKey)?.userId,
          code,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          ...(clientError && { reason: clientError.rawMessage }),
        },
        'rpc',
      );
      return clientError;
    };

    try {
      const limit = req.contextValues.get(requestTooLargeKey);
      if (limit !== undefined) {
        throw rpcError(Code.ResourceExhausted, 'REQUEST_TOO_LARGE', `the request message is larger than the ${limit} bytes this server accepts`, {
          limit_bytes: String(limit),
        });
      }
      const malformed = req.contextValues.get(malformedRequestKey);
      if (malformed !== undefined) {
        throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', `the request body is not a valid ${req.method.input.typeName}: ${malformed}`);
      }
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, requestId);
      if (!res.stream) {
        finish(undefined);
        return res;
      }
      return { ...res, message: observeStream(res.message, finish) };
    } catch (e) {
      const clientError = finish(e) as ConnectError;
      clientError.metadata.set(REQUEST_ID_HEADER, requestId);
      throw clientError;
    }
  };
}

async function* observeStream<T>(messages: AsyncIterable<T>, finish: (error: unknown) => ConnectError | undefined): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (e) {
    throw finish(e);
  }
  finish(undefined);
}

/** "InvalidArgument" → "invalid_argument", the code names the Connect protocol and our logs use. */
export function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase());
}
