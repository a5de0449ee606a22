import { Migration } from '@mikro-orm/migrations';
import { tenantRlsSql } from '@foundation/db';

/**
 * Organizations and memberships, both under row-level security. Besides the tenant policy (rows of
 * `app.current_org_id()`), a user sees their own memberships and the orgs they belong to
 * (`app.current_user_id()`), which is what ListMyOrgs needs without any bypass.
 */
export class InitialOrgSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table org.orgs (
      id uuid primary key,
      name text not null,
      slug text not null unique,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create table org.memberships (
      org_id uuid not null references org.orgs (id) on delete cascade,
      user_id uuid not null,
      email text not null,
      display_name text not null,
      role text not null check (role in ('owner', 'admin', 'member')),
      created_at timestamptz not null default now(),
      primary key (org_id, user_id)
    )`);
    this.addSql('create index memberships_user_idx on org.memberships (user_id, org_id)');
    this.addSql('create index memberships_org_created_idx on org.memberships (org_id, created_at, user_id)');
    for (const statement of tenantRlsSql('org', 'memberships')) this.addSql(statement);
    this.addSql(`create policy own_memberships on org.memberships for select
      using (user_id = (select app.current_user_id()))`);
    for (const statement of tenantRlsSql('org', 'orgs', 'id')) this.addSql(statement);
    this.addSql(`create policy member_orgs on org.orgs for select
      using (id in (select m.org_id from org.memberships m where m.user_id = (select app.current_user_id())))`);
  }
}
