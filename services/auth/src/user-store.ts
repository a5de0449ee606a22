import { dateOf, isUniqueViolation, querySql, type SqlTransaction } from '@foundation/db';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { AUTH_SCHEMA, type User } from './records.js';

export class EmailTakenError extends Error {
  override readonly name = 'EmailTakenError';
}

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  created_at: unknown;
}

const USER_COLUMNS = 'id, email, display_name, created_at';

/**
 * GetMe's read of the caller's account, the platform's hottest authenticated read: a named statement, so
 * each pooled connection parses and plans it once instead of on every call (docs/benchmarks.md).
 */
const READ_USER: Omit<pg.QueryConfig, 'values'> = {
  name: 'auth.read_user',
  text: `select ${USER_COLUMNS} from ${AUTH_SCHEMA}.users where id = $1`,
};

/** Accounts. The password hash is read only for a login and never leaves this module with the user. */
export class UserStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Inserts the account in `tx`, so a sign-up commits it together with its first refresh token. */
  async create(tx: SqlTransaction, account: { email: string; displayName: string; passwordHash: string }): Promise<User> {
    try {
      const [row] = await tx.query<UserRow>(
        `insert into ${AUTH_SCHEMA}.users (id, email, display_name, password_hash, created_at) values ($1, $2, $3, $4, now())
         returning ${USER_COLUMNS}`,
        [uuidv7(), account.email, account.displayName, account.passwordHash],
      );
      return userOf(row!);
    } catch (e) {
      if (isUniqueViolation(e)) throw new EmailTakenError(`an account with the email ${account.email} already exists`);
      throw e;
    }
  }

  async read(id: string): Promise<User | undefined> {
    const { rows } = await this.pool.query<UserRow>({ ...READ_USER, values: [id] });
    return rows[0] && userOf(rows[0]);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const [row] = await querySql<UserRow>(this.pool, `select ${USER_COLUMNS} from ${AUTH_SCHEMA}.users where email = $1`, [email]);
    return row && userOf(row);
  }

  /** The account with its password hash, for checking a login. */
  async findForLogin(email: string): Promise<{ user: User; passwordHash: string } | undefined> {
    const [row] = await querySql<UserRow & { password_hash: string }>(
      this.pool,
      `select ${USER_COLUMNS}, password_hash from ${AUTH_SCHEMA}.users where email = $1`,
      [email],
    );
    return row && { user: userOf(row), passwordHash: row.password_hash };
  }
}

function userOf(row: UserRow): User {
  return { id: row.id, email: row.email, displayName: row.display_name, createdAt: dateOf(row.created_at) };
}
