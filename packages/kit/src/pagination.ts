import type { PageRequest } from '@foundation/contracts';
import { isUuid } from './field-rules.js';
import { invalidFields } from './rpc-error.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Where a keyset-paged list resumes: after the row with this sort key and id. */
export interface PageCursor {
  key: string;
  id: string;
}

export interface PageWindow {
  limit: number;
  after?: PageCursor;
}

/**
 * Reads a `PageRequest` into a keyset window. Tokens are opaque base64url JSON of the last row's sort key
 * and id, so pages stay stable while rows are added; a token we did not issue is INVALID_ARGUMENT. The
 * token comes from the client, so its values are checked before they reach a query: the id must be a
 * UUID (every Foundation id is), the key must pass `isKey` (a list whose key is not its id says what it is).
 */
export function readPage(page: PageRequest | undefined, field = 'page', isKey: (key: string) => boolean = () => true): PageWindow {
  const size = page?.pageSize ?? 0;
  if (size < 0 || size > MAX_PAGE_SIZE) {
    throw invalidFields([{ field: `${field}.page_size`, description: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
  }
  const limit = size === 0 ? DEFAULT_PAGE_SIZE : size;
  const token = page?.pageToken ?? '';
  if (token === '') return { limit };
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageCursor>;
    if (typeof cursor.key === 'string' && typeof cursor.id === 'string' && isUuid(cursor.id) && isKey(cursor.key)) {
      return { limit, after: { key: cursor.key, id: cursor.id } };
    }
  } catch {
    // falls through to the error below
  }
  throw invalidFields([{ field: `${field}.page_token`, description: 'is not a token returned by this list' }]);
}

/**
 * Cuts one extra fetched row off (`rows` was queried with `limit + 1`) and returns the token of the next
 * page, or "" when there is none.
 */
export function pageOf<T>(rows: T[], window: PageWindow, cursorOf: (row: T) => PageCursor): { items: T[]; nextPageToken: string } {
  if (rows.length <= window.limit) return { items: rows, nextPageToken: '' };
  const items = rows.slice(0, window.limit);
  const last = cursorOf(items[items.length - 1]!);
  return { items, nextPageToken: Buffer.from(JSON.stringify(last)).toString('base64url') };
}
