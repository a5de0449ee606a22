import { Client } from 'pg';

/**
 * Runs `work` with one plain `pg` connection to `url` and always closes it.
 *
 * Administrative steps (creating roles and databases, granting, locking) use this rather than an ORM:
 * they need one specific connection and statements that cannot run inside a transaction.
 */
export async function withSqlClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
