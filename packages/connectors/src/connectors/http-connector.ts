import type { ActionDefinition, ConnectorDefinition, JsonValue } from '../catalog.js';
import { ConnectorCredentialError } from '../connector-errors.js';
import { credentialHeaders, type HttpAuth } from '../credential-headers.js';
import type { OutboundResponse } from '../guarded-http.js';

/** RFC 9110 token: what Node accepts as a header name. */
const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** What Node accepts as a header value: no control characters other than tab. */
const HEADER_VALUE_PATTERN = '^[\\t\\x20-\\x7E\\x80-\\xFF]*$';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

type HttpRequestInput = {
  method: string;
  url: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean>;
  body?: { json: JsonValue } | { text: string };
  auth?: HttpAuth;
};

const request: ActionDefinition<HttpRequestInput> = {
  id: 'request',
  description: 'Sends one HTTP request and returns the status, headers and body (parsed when JSON). Non-2xx answers fail the action.',
  inputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['method', 'url'],
    properties: {
      method: { enum: METHODS },
      url: { type: 'string', format: 'uri', maxLength: 8192, description: 'Absolute http: or https: URL.' },
      headers: {
        type: 'object',
        propertyNames: { pattern: HEADER_NAME_PATTERN },
        additionalProperties: { type: 'string', pattern: HEADER_VALUE_PATTERN },
        description: 'Request headers; Host, Content-Length, Transfer-Encoding and Connection are set by the runner.',
      },
      query: {
        type: 'object',
        additionalProperties: { type: ['string', 'number', 'boolean'] },
        description: 'Query parameters appended to the URL.',
      },
      body: {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: false,
        properties: { json: { description: 'Sent as application/json.' }, text: { type: 'string', description: 'Sent as text/plain.' } },
        description: 'Exactly one of `json` or `text`.',
      },
      auth: {
        type: 'object',
        additionalProperties: false,
        required: ['kind'],
        properties: { kind: { enum: ['bearer', 'basic', 'header'] }, headerName: { type: 'string', pattern: HEADER_NAME_PATTERN } },
        if: { properties: { kind: { const: 'header' } } },
        then: { required: ['headerName'] },
        description: 'How the secret is sent: bearer token, basic (secret is user:password), or as the value of headerName.',
      },
    },
  },
  outputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['status', 'headers', 'body'],
    properties: {
      status: { type: 'integer' },
      headers: {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        description: 'Response headers, lower-cased, without set-cookie.',
      },
      body: { description: 'The parsed body when the response is JSON, otherwise the body as text.' },
    },
  },
  async run(input, context) {
    const url = new URL(input.url);
    for (const [key, value] of Object.entries(input.query ?? {})) url.searchParams.append(key, String(value));
    let credentials: Record<string, string> = {};
    if (input.auth !== undefined) {
      if (context.secret === undefined) throw new ConnectorCredentialError('http.request has auth set but no secret was given');
      credentials = credentialHeaders(input.auth, context.secret);
    }
    const { body, contentType } = encodeBody(input.body);
    const response = await context.send({
      method: input.method,
      url,
      headers: { ...contentType, ...input.headers },
      credentialHeaders: credentials,
      body,
    });
    return { status: response.status, headers: outputHeaders(response), body: decodeBody(response) };
  },
};

/** The wire form of the body and the content type it implies (a caller's own Content-Type wins). */
function encodeBody(body: HttpRequestInput['body']): { body?: string; contentType: Record<string, string> } {
  if (body === undefined) return { contentType: {} };
  if ('json' in body) return { body: JSON.stringify(body.json), contentType: { 'content-type': 'application/json' } };
  return { body: body.text, contentType: { 'content-type': 'text/plain; charset=utf-8' } };
}

/** Cookies set by an upstream are session material for that upstream, not workflow data. */
function outputHeaders(response: OutboundResponse): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(response.headers)) {
    if (value !== undefined && key !== 'set-cookie') headers[key] = value;
  }
  return headers;
}

function decodeBody(response: OutboundResponse): JsonValue {
  const text = response.body.toString('utf8');
  if (!/\bjson\b/i.test(response.headers['content-type'] ?? '') || text === '') return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

export const httpConnector: ConnectorDefinition = {
  id: 'http',
  version: '1.0.0',
  displayName: 'HTTP',
  description: 'Calls any HTTP API, optionally authenticated with a secret.',
  credential: {
    kind: 'http_credential',
    description: 'A bearer token, user:password for basic auth, or a header value; used only when the input sets auth.',
    optional: true,
  },
  actions: [request],
};
