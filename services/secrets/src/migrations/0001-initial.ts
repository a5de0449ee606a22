import { Migration } from '@mikro-orm/migrations';
import { tenantRlsSql } from '@foundation/db';

/**
 * Secrets, their encrypted versions, the orgs' wrapped data keys and the resolution audit, all under
 * row-level security by org.
 *
 * One exception, on `data_keys` only: the role that runs this migration (the schema owner, the role of
 * DATABASE_URL) may read and re-wrap every org's row, so `foundation secrets rotate-master-key` can re-wrap
 * all data keys without setting `app.org_id` org by org — the owner sees no org ids anywhere else to
 * enumerate them (FORCE binds it on every other table). The table holds only keys wrapped by a master key
 * the database never sees, and the app role services run as still sees its request's org only.
 */
export class InitialSecretsSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table secrets.data_keys (
      id uuid primary key,
      org_id uuid not null unique,
      master_key_id text not null,
      nonce bytea not null,
      wrapped_key bytea not null,
      created_at timestamptz not null default now(),
      rewrapped_at timestamptz
    )`);
    this.addSql(`create table secrets.secrets (
      id uuid primary key,
      org_id uuid not null,
      name text not null,
      description text not null,
      version integer not null check (version >= 1),
      created_at timestamptz not null default now(),
      created_by uuid not null,
      updated_at timestamptz not null default now(),
      updated_by uuid not null,
      last_used_at timestamptz,
      unique (org_id, name)
    )`);
    this.addSql(`create table secrets.secret_versions (
      org_id uuid not null,
      secret_id uuid not null references secrets.secrets (id) on delete cascade,
      version integer not null check (version >= 1),
      data_key_id uuid not null references secrets.data_keys (id),
      nonce bytea not null,
      ciphertext bytea not null,
      created_at timestamptz not null default now(),
      created_by uuid not null,
      primary key (org_id, secret_id, version)
    )`);
    this.addSql('create index secret_versions_secret_idx on secrets.secret_versions (secret_id)');
    this.addSql(`create table secrets.secret_resolutions (
      id uuid primary key,
      org_id uuid not null,
      secret_id uuid not null,
      secret_name text not null,
      version integer not null,
      caller_service text not null,
      run_id uuid not null,
      outcome text not null check (outcome in ('resolved', 'undecryptable')),
      resolved_at timestamptz not null default now()
    )`);
    this.addSql('create index secret_resolutions_org_time_idx on secrets.secret_resolutions (org_id, resolved_at)');
    for (const table of ['data_keys', 'secrets', 'secret_versions', 'secret_resolutions']) {
      for (const statement of tenantRlsSql('secrets', table)) this.addSql(statement);
    }
    this.addSql('create policy master_key_rotation_read on secrets.data_keys for select to current_user using (true)');
    this.addSql('create policy master_key_rotation_rewrap on secrets.data_keys for update to current_user using (true) with check (true)');
  }
}
