import { fromBinary } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '@foundation/contracts';

export interface ConnectHttpResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when the body is not JSON. */
  json: unknown;
  bytes: Uint8Array;
}

export interface ConnectHttpOptions {
  /** Default: application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * POSTs a unary Connect request with a plain fetch (HTTP/1.1), the way curl or a browser does, so the
 * body can be anything, including bytes no client library would send.
 */
export async function postConnect(baseUrl: string, path: string, body: string | Uint8Array, options: ConnectHttpOptions = {}): Promise<ConnectHttpResponse> {
  const res = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json', ...options.headers },
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: unknown;
  if (/json/.test(res.headers.get('content-type') ?? '')) json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  return { status: res.status, headers: res.headers, json, bytes };
}

export interface ConnectErrorBody {
  code: string;
  message?: string;
  details?: { type: string; value: string }[];
}

/** The code and ErrorInfo reason of a Connect protocol error body. */
export function connectErrorOf(res: ConnectHttpResponse): { code: string; reason: string | undefined; message: string } {
  const body = res.json as ConnectErrorBody | undefined;
  if (!body || typeof body.code !== 'string') {
    throw new Error(`expected a Connect error body, got HTTP ${res.status}: ${Buffer.from(res.bytes).toString('utf8').slice(0, 200)}`);
  }
  const detail = body.details?.find((d) => d.type === ErrorInfoSchema.typeName);
  const reason = detail && fromBinary(ErrorInfoSchema, Buffer.from(detail.value, 'base64')).reason;
  return { code: body.code, reason, message: body.message ?? '' };
}
