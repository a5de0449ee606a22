import { postgresUrl } from '@foundation/db';
import pg from 'pg';
import type { TestPlatform } from './test-platform.js';

/** Which connection to open to the platform's database. */
export type DatabaseRole = 'app' | 'owner' | 'superuser';

/**
 * Runs `work` on a plain `pg` connection to the platform's database as `role`: the app role and the schema
 * owner are bound by row-level security; the superuser sees every row (for checking what was written).
 */
export async function withDatabase<T>(platform: TestPlatform, role: DatabaseRole, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const { database } = platform;
  const url = { app: database.appUrl, owner: database.ownerUrl, superuser: postgresUrl(database.superuserUrl, { database: database.database }) }[role];
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
