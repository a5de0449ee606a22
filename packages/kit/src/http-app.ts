import type { connectNodeAdapter } from '@connectrpc/connect-node';
import http2 from 'node:http2';
import express from 'express';

type NodeFallback = NonNullable<Parameters<typeof connectNodeAdapter>[0]['fallback']>;

/**
 * Serves an express router on HTTP/1.1 and HTTP/2 alike. Express builds its request and response objects
 * on `http.IncomingMessage` and `http.ServerResponse`; handed an HTTP/2 compatibility request it calls
 * methods that object does not have and crashes the process. So the HTTP/2 app gets express's request and
 * response methods on top of the HTTP/2 compatibility classes instead.
 */
export function createDualProtocolHttpHandler(router: express.Router) {
  const h1App = express();
  const h2App = express();
  for (const app of [h1App, h2App]) {
    app.disable('x-powered-by');
    app.use(router);
  }
  h2App.request = rebase(h1App.request, http2.Http2ServerRequest.prototype) as typeof h2App.request;
  h2App.response = rebase(h1App.response, http2.Http2ServerResponse.prototype) as typeof h2App.response;
  // Typed as the Connect adapter's fallback, whose HTTP/2 response type differs from Node's in `write`.
  const handler: NodeFallback = (req, res) => {
    const app = req.httpVersionMajor === 2 ? h2App : h1App;
    app(req as express.Request, res as unknown as express.Response);
  };
  return handler;
}

/** A copy of express's prototype chain below Node's class, put on top of `base` instead. */
function rebase(expressObject: object, base: object): object {
  const layers: object[] = [];
  for (let o: object | null = expressObject; o && o !== Object.prototype && !isNodeClassPrototype(o); o = Object.getPrototypeOf(o)) {
    layers.push(o);
  }
  return layers.reduceRight<object>((proto, layer) => Object.create(proto, Object.getOwnPropertyDescriptors(layer)), base);
}

function isNodeClassPrototype(o: object): boolean {
  return Object.prototype.hasOwnProperty.call(o, 'constructor') && /^(IncomingMessage|ServerResponse|OutgoingMessage|Readable|Writable|Stream|EventEmitter)$/.test((o as { constructor: { name: string } }).constructor.name);
}
