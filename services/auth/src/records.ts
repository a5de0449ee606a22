/** The auth service's rows as the service uses them. None is tenant-scoped: a user spans orgs. */

export const AUTH_SCHEMA = 'auth';

export interface User {
  id: string;
  /** Normalized (trimmed, lower-cased); unique. */
  email: string;
  displayName: string;
  createdAt: Date;
}

/** One refresh token; tokens of one login share a family, so reuse of any revokes them all. */
export interface RefreshToken {
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  /** Set when it was exchanged for its successor; presenting it again is reuse. */
  usedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  /** The first characters of the token, shown in lists so people can recognise it. */
  prefix: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}
