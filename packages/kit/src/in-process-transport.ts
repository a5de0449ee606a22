import type { DescMethod, DescService, MessageShape } from '@bufbuild/protobuf';
import {
  ConnectError,
  createContextValues,
  createHandlerContext,
  createRouterTransport,
  createServiceImplSpec,
  type ConnectRouter,
  type Interceptor,
  type MethodImplSpec,
  type Transport,
} from '@connectrpc/connect';
import { createMethodUrl, getAbortSignalReason, invokeUnaryImplementation, runUnaryCall } from '@connectrpc/connect/protocol';

export interface InProcessTransportOptions {
  /** Registers the server's services, as on the network server. */
  routes: (router: ConnectRouter) => void;
  /** The server's interceptors, outermost first. */
  serverInterceptors: Interceptor[];
  /** The client's interceptors, as they would act on a network transport. */
  clientInterceptors: Interceptor[];
  /** Aborts every call's handler context when the server shuts down. */
  shutdownSignal: AbortSignal;
}

const BASE_URL = 'http://in-process';

type UnaryImplSpec = Extract<MethodImplSpec, { kind: 'unary' }>;

/**
 * A transport to services of this very process (`--target=all`) that hands unary requests and responses
 * over as message objects: the client's interceptors, then the server's, then the implementation, as on
 * the network, but without encoding each message to protobuf and parsing it again on the other side —
 * the brain's relay of agent events to the session service spent an eighth of the server's CPU on
 * that (docs/benchmarks.md). Errors reach the caller as they would off the wire: code, message, details
 * and the response's metadata, not the server's cause. Neither side may change a message after handing
 * it over (every caller and implementation builds fresh messages). Streaming calls go through connect's
 * router transport, serialized.
 */
export function createInProcessTransport(options: InProcessTransportOptions): Transport {
  const unaryMethods = new Map<DescMethod, UnaryImplSpec>();
  const recordingRoutes = (router: ConnectRouter): void => {
    const register = router.service.bind(router);
    router.service = (service, implementation, handlerOptions) => {
      for (const spec of Object.values(createServiceImplSpec(service as DescService, implementation).methods)) {
        if (spec.kind === 'unary') unaryMethods.set(spec.method, spec as UnaryImplSpec);
      }
      return register(service, implementation, handlerOptions);
    };
    options.routes(router);
  };
  const streaming = createRouterTransport(recordingRoutes, {
    transport: { interceptors: options.clientInterceptors },
    router: { interceptors: options.serverInterceptors },
  });

  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      const spec = unaryMethods.get(method);
      // A method this process does not serve gets the router's own answer (UNIMPLEMENTED).
      if (!spec) return streaming.unary(method, signal, timeoutMs, header, input, contextValues);
      const deadlineMs = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
      return runUnaryCall({
        interceptors: options.clientInterceptors,
        signal,
        timeoutMs: deadlineMs,
        req: {
          stream: false,
          service: method.parent,
          method,
          requestMethod: 'POST',
          url: createMethodUrl(BASE_URL, method),
          header: new Headers(header),
          contextValues: contextValues ?? createContextValues(),
          message: input,
        },
        next: async (req) => {
          const context = createHandlerContext({
            service: method.parent,
            method,
            protocolName: 'in-process',
            requestMethod: 'POST',
            url: req.url,
            timeoutMs: deadlineMs,
            requestSignal: req.signal,
            shutdownSignal: options.shutdownSignal,
            requestHeader: req.header,
          });
          try {
            const answer = invokeUnaryImplementation(spec, context, req.message, options.serverInterceptors);
            const message = (await unlessAborted(answer, req.signal)) as MessageShape<typeof method.output>;
            return { stream: false, service: method.parent, method, header: context.responseHeader, trailer: context.responseTrailer, message };
          } catch (e) {
            throw asReceivedError(e, context.responseHeader, context.responseTrailer);
          } finally {
            context.abort();
          }
        },
      });
    },
    stream: (...args) => streaming.stream(...args),
  };
}

/**
 * The answer, or the signal's reason once it aborts first: a network client stops waiting when its call
 * is cancelled or out of time, whatever the server still does.
 */
function unlessAborted<T>(answer: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(getAbortSignalReason(signal));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The error a network client would have read: the server's answer with its response metadata, no cause. */
function asReceivedError(error: unknown, header: Headers, trailer: Headers): ConnectError {
  const sent = ConnectError.from(error);
  const metadata = new Headers(header);
  for (const source of [trailer, sent.metadata]) source.forEach((value, key) => metadata.append(key, value));
  const received = new ConnectError(sent.rawMessage, sent.code, metadata);
  received.details.push(...sent.details);
  return received;
}
