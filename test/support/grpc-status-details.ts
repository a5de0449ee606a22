import * as grpc from '@grpc/grpc-js';
import { loadProtoPackage } from './grpc-js-calls.js';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/** protobufjs keeps Any's field names as written (type_url) whatever keepCase says. */
interface Any {
  type_url?: string;
  typeUrl?: string;
  value: Buffer;
}
interface Status {
  code: number;
  message: string;
  details: Any[];
}
export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

// proto-loader's decoders of google.rpc.Status (test/support/status-codec.proto) and of ErrorInfo
// (proto/google/rpc/error_details.proto), as the request and response of a never-served method.
const codec = loadProtoPackage(['status-codec.proto'])['foundation.test.StatusCodec'] as grpc.ServiceDefinition;
const decodeStatus = codec.DecodeStatus!.requestDeserialize as (bytes: Buffer) => Status;
const decodeErrorInfo = codec.DecodeStatus!.responseDeserialize as (bytes: Buffer) => ErrorInfo;

/** The google.rpc.Status a gRPC error carries in its `grpc-status-details-bin` trailer. */
export function statusDetailsOf(error: grpc.ServiceError): Status {
  const [bin] = error.metadata.get('grpc-status-details-bin');
  if (!Buffer.isBuffer(bin)) throw new Error(`the error has no grpc-status-details-bin: ${error.code} ${error.details}`);
  return decodeStatus(bin);
}

/** The ErrorInfo detail of a gRPC error, undefined when it carries none. */
export function errorInfoOf(error: grpc.ServiceError): ErrorInfo | undefined {
  const detail = statusDetailsOf(error).details.find((d) => (d.typeUrl ?? d.type_url) === ERROR_INFO_TYPE_URL);
  return detail && decodeErrorInfo(detail.value);
}

/** Awaits a grpc-js call that must fail with `code` and, when given, the ErrorInfo `reason`. */
export async function expectGrpcError(call: Promise<unknown>, code: grpc.status, reason?: string): Promise<grpc.ServiceError> {
  const expected = `${grpc.status[code]}${reason ? ` (${reason})` : ''}`;
  try {
    await call;
  } catch (e) {
    const error = e as grpc.ServiceError;
    if (error.code !== code) throw new Error(`expected ${expected}, got ${grpc.status[error.code] ?? error.code}: ${error.details}`);
    if (reason !== undefined && errorInfoOf(error)?.reason !== reason) {
      throw new Error(`expected ${expected}, got reason ${errorInfoOf(error)?.reason ?? 'none'}: ${error.details}`);
    }
    return error;
  }
  throw new Error(`expected ${expected}, but the call succeeded`);
}
