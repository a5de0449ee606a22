/** What can differ between two connection URLs to the same server. */
export type PostgresUrlParts = { user?: string; password?: string; database?: string };

/**
 * Builds a connection URL to the server `baseUrl` points at, with other credentials or another database.
 *
 * Everything derived from one superuser URL (owner, app, per-test databases) goes through here, so
 * credentials are always percent-encoded the same way and host, port and query options are kept.
 */
export function postgresUrl(baseUrl: string, parts: PostgresUrlParts): string {
  const url = new URL(baseUrl);
  if (parts.user !== undefined) url.username = encodeURIComponent(parts.user);
  if (parts.password !== undefined) url.password = encodeURIComponent(parts.password);
  if (parts.database !== undefined) url.pathname = `/${encodeURIComponent(parts.database)}`;
  return url.toString();
}
