import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema, ErrorReason } from '@foundation/contracts';

/** The ErrorInfo domain of every Foundation error. */
export const ERROR_DOMAIN = 'foundation.dev';

/** A reason name as it travels in ErrorInfo: `ErrorReason` without its prefix. */
export type Reason = Exclude<keyof typeof ErrorReason, 'UNSPECIFIED'>;

/**
 * Builds the one shape of error Foundation returns: a ConnectError with a code, a message a person can act
 * on, and a `google.rpc.ErrorInfo` whose reason a program can switch on.
 */
export function rpcError(code: Code, reason: Reason, message: string, metadata: Record<string, string> = {}): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) },
  ]);
}

/** A field-level problem of a request, as collected by validation. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * INVALID_ARGUMENT for one or more bad request fields: ErrorInfo (reason INVALID_FIELD, metadata.field =
 * the first field) plus a BadRequest detail listing every violation.
 */
export function invalidFields(violations: FieldViolation[]): ConnectError {
  const message = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  const error = rpcError(Code.InvalidArgument, 'INVALID_FIELD', message, { field: violations[0]?.field ?? '' });
  error.details.push({
    desc: BadRequestSchema,
    value: create(BadRequestSchema, { fieldViolations: violations }),
  });
  return error;
}

/** Throws `invalidFields(violations)` when there are any: the one way handlers reject a request's fields. */
export function assertValid(violations: FieldViolation[]): void {
  if (violations.length > 0) throw invalidFields(violations);
}

/** The ErrorInfo reason of an error, or undefined when it has none (clients and tests switch on it). */
export function reasonOf(error: unknown): string | undefined {
  return ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason;
}
