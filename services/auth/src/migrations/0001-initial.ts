import { Migration } from '@mikro-orm/migrations';

/** Accounts, refresh token families, API tokens and signing keys. None is tenant-scoped: a user spans orgs. */
export class InitialAuthSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table auth.users (
      id uuid primary key,
      email text not null unique,
      display_name text not null,
      password_hash text not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create table auth.refresh_tokens (
      id uuid primary key,
      user_id uuid not null references auth.users (id) on delete cascade,
      family_id uuid not null,
      token_hash text not null unique,
      expires_at timestamptz not null,
      used_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    )`);
    this.addSql('create index refresh_tokens_family_idx on auth.refresh_tokens (family_id)');
    this.addSql(`create table auth.api_tokens (
      id uuid primary key,
      user_id uuid not null references auth.users (id) on delete cascade,
      name text not null,
      prefix text not null,
      token_hash text not null unique,
      expires_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    )`);
    this.addSql('create index api_tokens_user_idx on auth.api_tokens (user_id, created_at desc, id desc)');
    this.addSql(`create table auth.signing_keys (
      kid text primary key,
      private_jwk jsonb not null,
      public_jwk jsonb not null,
      created_at timestamptz not null default now(),
      retired_at timestamptz
    )`);
  }
}
