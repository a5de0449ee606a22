import type pg from 'pg';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { callTenantFunction, dateOf, querySql, withTenantSql } from '@foundation/db';
import { assertValid, rpcError, type PageWindow } from '@foundation/kit';
import type { SpecProblem, WorkflowSpecJson } from '@foundation/workflow-dsl';
import type { SqlTransaction } from '@foundation/db';
import { v7 as uuidv7, parse as uuidParse, stringify as uuidStringify } from 'uuid';
import { specViolations } from './spec-problems.js';

export type WorkflowState = 'draft' | 'published' | 'archived';

export interface WorkflowRecord {
  id: string;
  orgId: string;
  name: string;
  description: string;
  state: WorkflowState;
  draftSpec: WorkflowSpecJson;
  revision: number;
  latestVersion: number;
  hasUnpublishedChanges: boolean;
  webhookToken: string | null;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

export interface WorkflowVersionRecord {
  workflowId: string;
  version: number;
  spec: WorkflowSpecJson;
  publishedAt: Date;
  publishedBy: string;
}

export interface WorkflowDraft {
  name: string;
  description: string;
  spec: WorkflowSpecJson;
}

/** What publishing needs to know of a spec, decided by the caller (the DSL), not by storage. */
export interface PublishCheck {
  problems(spec: WorkflowSpecJson): SpecProblem[];
  hasWebhookTrigger(spec: WorkflowSpecJson): boolean;
}

const WEBHOOK_TOKEN_PREFIX = 'whk_';
const WEBHOOK_SECRET_BYTES = 24;

const SELECT_WORKFLOW = `select w.*, v.spec is distinct from w.draft_spec as has_unpublished_changes
  from workflow.workflows w
  left join workflow.workflow_versions v on v.org_id = w.org_id and v.workflow_id = w.id and v.version = w.latest_version`;

/** A published workflow that has schedules, with the spec of its latest version. */
export interface ScheduledWorkflow {
  orgId: string;
  workflowId: string;
  spec: WorkflowSpecJson;
}

/**
 * Workflows and their published versions. Every query runs in a tenant scope (a tenant transaction, or
 * for the read every run starts with, a tenant function), so row-level security confines it to one org;
 * the checks here are the lifecycle rules.
 */
export class WorkflowStore {
  constructor(private readonly pool: pg.Pool) {}

  create(orgId: string, userId: string, draft: WorkflowDraft): Promise<WorkflowRecord> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const id = uuidv7();
      const now = new Date();
      await tx.query(
        `insert into workflow.workflows (id, org_id, name, description, state, draft_spec, revision, created_at, created_by, updated_at, updated_by)
         values ($1, $2, $3, $4, 'draft', $5::jsonb, 1, $6, $7, $8, $9)`,
        [id, orgId, draft.name, draft.description, JSON.stringify(draft.spec), now, userId, now, userId],
      );
      return this.read(tx, id);
    });
  }

  get(orgId: string, workflowId: string): Promise<WorkflowRecord> {
    return withTenantSql(this.pool, orgId, (tx) => this.read(tx, workflowId));
  }

  /** Newest first (ids are UUIDv7). */
  list(orgId: string, window: PageWindow, includeArchived: boolean): Promise<WorkflowRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `${SELECT_WORKFLOW} where ($1::uuid is null or w.id < $2::uuid) and ($3 or w.state <> 'archived') order by w.id desc limit $4`,
        [window.after?.id ?? null, window.after?.id ?? null, includeArchived, window.limit + 1],
      );
      return rows.map(workflowRecord);
    });
  }

  update(orgId: string, userId: string, workflowId: string, draft: WorkflowDraft, expectedRevision: number): Promise<WorkflowRecord> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      await this.lockEditable(tx, workflowId, expectedRevision);
      await tx.query(
        `update workflow.workflows set name = $1, description = $2, draft_spec = $3::jsonb, revision = revision + 1, updated_at = $4, updated_by = $5
         where id = $6`,
        [draft.name, draft.description, JSON.stringify(draft.spec), new Date(), userId, workflowId],
      );
      return this.read(tx, workflowId);
    });
  }

  /**
   * Freezes the draft as the next version. The draft is checked again: it was valid when saved, but the
   * catalog it was checked against may have changed since.
   */
  publish(
    orgId: string,
    userId: string,
    workflowId: string,
    expectedRevision: number,
    check: PublishCheck,
  ): Promise<{ workflow: WorkflowRecord; version: WorkflowVersionRecord; previous?: WorkflowSpecJson }> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const current = await this.lockEditable(tx, workflowId, expectedRevision);
      if (!current.hasUnpublishedChanges) {
        throw rpcError(Code.FailedPrecondition, 'NOTHING_TO_PUBLISH', `the draft is the same as version ${current.latestVersion}; change it before publishing`);
      }
      assertValid(specViolations('spec', check.problems(current.draftSpec)));
      const previous = current.latestVersion > 0 ? (await this.readVersion(tx, workflowId, current.latestVersion)).spec : undefined;
      const version = current.latestVersion + 1;
      const now = new Date();
      await tx.query(
        `insert into workflow.workflow_versions (org_id, workflow_id, version, spec, published_at, published_by) values ($1, $2, $3, $4::jsonb, $5, $6)`,
        [orgId, workflowId, version, JSON.stringify(current.draftSpec), now, userId],
      );
      const webhookToken = check.hasWebhookTrigger(current.draftSpec) ? (current.webhookToken ?? newWebhookToken(orgId)) : null;
      await tx.query(
        `update workflow.workflows set state = 'published', latest_version = $1, webhook_token = $2, updated_at = $3, updated_by = $4 where id = $5`,
        [version, webhookToken, now, userId, workflowId],
      );
      return { workflow: await this.read(tx, workflowId), version: await this.readVersion(tx, workflowId, version), previous };
    });
  }

  /** Newest first. */
  listVersions(orgId: string, workflowId: string, window: PageWindow): Promise<WorkflowVersionRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      await this.read(tx, workflowId);
      const rows = await tx.query(
        `select * from workflow.workflow_versions where workflow_id = $1 and ($2::int is null or version < $3::int) order by version desc limit $4`,
        [workflowId, window.after ? Number(window.after.key) : null, window.after ? Number(window.after.key) : null, window.limit + 1],
      );
      return rows.map(versionRecord);
    });
  }

  /**
   * A workflow with one of its versions (0 = the latest), for starting a run: every run's first step, so one
   * call to the tenant function `workflow.runnable` (migration 0004).
   */
  async runnable(orgId: string, workflowId: string, version: number): Promise<{ workflow: WorkflowRecord; version: WorkflowVersionRecord }> {
    const [row] = await callTenantFunction<{ runnable: { workflow: Row; version: Row | null } | null }>(this.pool, orgId, 'workflow.runnable', [
      workflowId,
      version,
    ]);
    const found = row!.runnable;
    if (!found) throw rpcError(Code.NotFound, 'NOT_FOUND', `workflow ${workflowId} does not exist in this organization`);
    const workflow = workflowRecord(found.workflow);
    if (workflow.state === 'archived') {
      throw rpcError(Code.FailedPrecondition, 'WORKFLOW_ARCHIVED', 'the workflow is archived; archived workflows cannot run');
    }
    if (workflow.latestVersion === 0) {
      throw rpcError(Code.FailedPrecondition, 'WORKFLOW_NOT_PUBLISHED', 'the workflow has no published version yet; publish it first');
    }
    if (version > workflow.latestVersion) {
      throw rpcError(Code.InvalidArgument, 'INVALID_FIELD', `version ${version} does not exist; the latest is ${workflow.latestVersion}`, { field: 'version' });
    }
    if (!found.version) throw rpcError(Code.NotFound, 'NOT_FOUND', `workflow ${workflowId} has no version ${version || workflow.latestVersion}`);
    return { workflow, version: versionRecord(found.version) };
  }

  /**
   * Archiving twice is not an error; the webhook token is dropped so its URL stops working at once.
   * Returns the latest version's spec too, whose schedules the caller stops.
   */
  archive(orgId: string, userId: string, workflowId: string): Promise<{ workflow: WorkflowRecord; latestSpec?: WorkflowSpecJson }> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      await this.read(tx, workflowId);
      await tx.query(
        `update workflow.workflows set state = 'archived', webhook_token = null, updated_at = $1, updated_by = $2 where id = $3 and state <> 'archived'`,
        [new Date(), userId, workflowId],
      );
      const workflow = await this.read(tx, workflowId);
      const latestSpec = workflow.latestVersion > 0 ? (await this.readVersion(tx, workflowId, workflow.latestVersion)).spec : undefined;
      return { workflow, latestSpec };
    });
  }

  /** Every published workflow whose latest version has a schedule trigger, across orgs (see the migration). */
  async scheduledWorkflows(): Promise<ScheduledWorkflow[]> {
    const rows = await querySql(this.pool, 'select * from workflow.scheduled_workflows()');
    return rows.map((row) => ({ orgId: row['org_id'] as string, workflowId: row['workflow_id'] as string, spec: row['spec'] as WorkflowSpecJson }));
  }

  /** The published workflow a webhook token belongs to, if any. */
  findByWebhookToken(token: string): Promise<WorkflowRecord | undefined> {
    const orgId = orgOfWebhookToken(token);
    if (!orgId) return Promise.resolve(undefined);
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(`${SELECT_WORKFLOW} where w.webhook_token = $1 and w.state = 'published'`, [token]);
      const row = rows[0];
      // The index lookup already matched; the constant-time compare keeps timing out of the picture anyway.
      if (!row || !timingSafeEqual(Buffer.from(String(row['webhook_token'])), Buffer.from(token))) return undefined;
      return workflowRecord(row);
    });
  }

  private async read(tx: SqlTransaction, workflowId: string): Promise<WorkflowRecord> {
    const rows = await tx.query(`${SELECT_WORKFLOW} where w.id = $1`, [workflowId]);
    if (!rows[0]) throw rpcError(Code.NotFound, 'NOT_FOUND', `workflow ${workflowId} does not exist in this organization`);
    return workflowRecord(rows[0]);
  }

  private async readVersion(tx: SqlTransaction, workflowId: string, version: number): Promise<WorkflowVersionRecord> {
    const rows = await tx.query(`select * from workflow.workflow_versions where workflow_id = $1 and version = $2`, [workflowId, version]);
    if (!rows[0]) throw rpcError(Code.NotFound, 'NOT_FOUND', `workflow ${workflowId} has no version ${version}`);
    return versionRecord(rows[0]);
  }

  /** Locks the workflow for a change of its draft, refusing archived ones and stale revisions. */
  private async lockEditable(tx: SqlTransaction, workflowId: string, expectedRevision: number): Promise<WorkflowRecord> {
    await tx.query('select 1 from workflow.workflows where id = $1 for update', [workflowId]);
    const current = await this.read(tx, workflowId);
    if (current.state === 'archived') {
      throw rpcError(Code.FailedPrecondition, 'WORKFLOW_ARCHIVED', 'the workflow is archived and can no longer change');
    }
    if (expectedRevision !== 0 && expectedRevision !== current.revision) {
      throw rpcError(
        Code.Aborted,
        'REVISION_CONFLICT',
        `the draft is at revision ${current.revision}, not ${expectedRevision}: someone changed it; read it again and reapply your change`,
      );
    }
    return current;
  }
}

/**
 * `whk_` + base64url(org id bytes ‖ 24 random bytes): unguessable, and it names its org, so the webhook
 * route can open the right tenant scope without any lookup across orgs.
 */
function newWebhookToken(orgId: string): string {
  return WEBHOOK_TOKEN_PREFIX + Buffer.concat([Buffer.from(uuidParse(orgId)), randomBytes(WEBHOOK_SECRET_BYTES)]).toString('base64url');
}

function orgOfWebhookToken(token: string): string | undefined {
  if (!token.startsWith(WEBHOOK_TOKEN_PREFIX)) return undefined;
  const bytes = Buffer.from(token.slice(WEBHOOK_TOKEN_PREFIX.length), 'base64url');
  if (bytes.length !== 16 + WEBHOOK_SECRET_BYTES) return undefined;
  try {
    return uuidStringify(bytes.subarray(0, 16));
  } catch {
    // A token we did not issue may start with any 16 bytes; those that are no UUID name no org.
    return undefined;
  }
}

type Row = Record<string, unknown>;

function workflowRecord(row: Row): WorkflowRecord {
  return {
    id: row['id'] as string,
    orgId: row['org_id'] as string,
    name: row['name'] as string,
    description: row['description'] as string,
    state: row['state'] as WorkflowState,
    draftSpec: row['draft_spec'] as WorkflowSpecJson,
    revision: row['revision'] as number,
    latestVersion: row['latest_version'] as number,
    hasUnpublishedChanges: row['has_unpublished_changes'] as boolean,
    webhookToken: (row['webhook_token'] as string | null) ?? null,
    createdAt: dateOf(row['created_at']),
    createdBy: row['created_by'] as string,
    updatedAt: dateOf(row['updated_at']),
    updatedBy: row['updated_by'] as string,
  };
}

function versionRecord(row: Row): WorkflowVersionRecord {
  return {
    workflowId: row['workflow_id'] as string,
    version: row['version'] as number,
    spec: row['spec'] as WorkflowSpecJson,
    publishedAt: dateOf(row['published_at']),
    publishedBy: row['published_by'] as string,
  };
}
