import { Code } from '@connectrpc/connect';
import { isEngineId, unsupportedEngineMessage } from '@foundation/agent-engines';
import { isUuid, rpcError, type FieldViolation } from '@foundation/kit';

const TITLE_MAX = 120;
const EVENTS_PAGE_MAX = 1000;

/** INVALID_ARGUMENT (UNSUPPORTED_ENGINE) for an engine that does not exist, naming those that do. */
export function assertSupportedEngine(engine: string): void {
  if (!isEngineId(engine)) throw rpcError(Code.InvalidArgument, 'UNSUPPORTED_ENGINE', unsupportedEngineMessage(engine), { field: 'engine' });
}

/** An optional id: empty, or a UUID. */
export function optionalUuidViolations(field: string, value: string): FieldViolation[] {
  return value === '' || isUuid(value) ? [] : [{ field, description: 'must be a UUID (or empty)' }];
}

export function eventsPageSizeViolations(pageSize: number): FieldViolation[] {
  return pageSize < 0 || pageSize > EVENTS_PAGE_MAX ? [{ field: 'page_size', description: `must be between 1 and ${EVENTS_PAGE_MAX} (0 for the default)` }] : [];
}

/** The first line of the first prompt, at most 120 characters: what lists show. */
export function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n', 1)[0]!.trim();
  const chars = [...line];
  return chars.length <= TITLE_MAX ? line : chars.slice(0, TITLE_MAX - 1).join('') + '…';
}
