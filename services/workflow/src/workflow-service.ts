import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type {
  ArchiveWorkflowRequest,
  CreateWorkflowRequest,
  GetWorkflowRequest,
  ListWorkflowsRequest,
  ListWorkflowVersionsRequest,
  PublishWorkflowRequest,
  UpdateWorkflowRequest,
  ValidateWorkflowRequest,
  WorkflowService,
} from '@foundation/contracts';
import { assertOwnerOrAdmin, assertValid, nameViolations, pageOf, readPage, requireCaller, requireTenant, uuidViolations, type FieldViolation } from '@foundation/kit';
import type { SpecProblem, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { specToJson, versionMessage, workflowMessage } from './messages.js';
import { specViolations } from './spec-problems.js';
import type { ScheduleSync } from './schedule-sync.js';
import type { PublishCheck, WorkflowDraft, WorkflowStore } from './workflow-store.js';

const NAME_MAX = 200;
const DESCRIPTION_MAX = 2000;

/** Checks a spec against the DSL and the connector catalog. */
export interface SpecChecker extends PublishCheck {
  problems(spec: unknown): SpecProblem[];
}

/** The WorkflowService handlers: validate, authorize, call the store, map the result. */
export class WorkflowServiceImpl implements ServiceImpl<typeof WorkflowService> {
  constructor(
    private readonly store: WorkflowStore,
    private readonly specs: SpecChecker,
    private readonly schedules: ScheduleSync,
  ) {}

  async createWorkflow(req: CreateWorkflowRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    const draft = this.draftOf(req);
    assertOwnerOrAdmin(tenant, 'create workflows');
    return { workflow: workflowMessage(await this.store.create(tenant.orgId, requireCaller(ctx).userId, draft)) };
  }

  async getWorkflow(req: GetWorkflowRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('workflow_id', req.workflowId));
    return { workflow: workflowMessage(await this.store.get(tenant.orgId, req.workflowId)) };
  }

  async listWorkflows(req: ListWorkflowsRequest, ctx: HandlerContext) {
    const window = readPage(req.page);
    const rows = await this.store.list(requireTenant(ctx).orgId, window, req.includeArchived);
    const page = pageOf(rows, window, (w) => ({ key: w.id, id: w.id }));
    return { workflows: page.items.map(workflowMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async updateWorkflow(req: UpdateWorkflowRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('workflow_id', req.workflowId), ...revisionViolations(req.expectedRevision)]);
    const draft = this.draftOf(req);
    assertOwnerOrAdmin(tenant, 'change workflows');
    const workflow = await this.store.update(tenant.orgId, requireCaller(ctx).userId, req.workflowId, draft, req.expectedRevision);
    return { workflow: workflowMessage(workflow) };
  }

  validateWorkflow(req: ValidateWorkflowRequest, ctx: HandlerContext) {
    requireTenant(ctx);
    const problems = this.specs.problems(specToJson(req.spec));
    return { valid: problems.length === 0, problems };
  }

  async publishWorkflow(req: PublishWorkflowRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('workflow_id', req.workflowId), ...revisionViolations(req.expectedRevision)]);
    assertOwnerOrAdmin(tenant, 'publish workflows');
    const published = await this.store.publish(tenant.orgId, requireCaller(ctx).userId, req.workflowId, req.expectedRevision, this.specs);
    await this.schedules.published(tenant.orgId, published.workflow.id, published.version.spec, published.previous);
    return { workflow: workflowMessage(published.workflow), version: versionMessage(published.version) };
  }

  async listWorkflowVersions(req: ListWorkflowVersionsRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('workflow_id', req.workflowId));
    const window = readPage(req.page, 'page', (key) => /^[1-9]\d{0,9}$/.test(key));
    const rows = await this.store.listVersions(tenant.orgId, req.workflowId, window);
    // Versions are keyed by number; the cursor's id slot carries the workflow id, which is a UUID.
    const page = pageOf(rows, window, (v) => ({ key: String(v.version), id: v.workflowId }));
    return { versions: page.items.map(versionMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async archiveWorkflow(req: ArchiveWorkflowRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('workflow_id', req.workflowId));
    assertOwnerOrAdmin(tenant, 'archive workflows');
    const { workflow, latestSpec } = await this.store.archive(tenant.orgId, requireCaller(ctx).userId, req.workflowId);
    if (latestSpec) await this.schedules.archived(workflow.id, latestSpec);
    return { workflow: workflowMessage(workflow) };
  }

  /** A draft from a create or update request; every field problem and every spec problem in one error. */
  private draftOf(req: { name: string; description: string; spec?: CreateWorkflowRequest['spec'] }): WorkflowDraft {
    const spec = specToJson(req.spec);
    assertValid([
      ...nameViolations('name', req.name, NAME_MAX),
      ...([...req.description].length > DESCRIPTION_MAX ? [{ field: 'description', description: `must be at most ${DESCRIPTION_MAX} characters` }] : []),
      ...specViolations('spec', this.specs.problems(spec)),
    ]);
    return { name: req.name.trim(), description: req.description, spec: spec as WorkflowSpecJson };
  }
}

function revisionViolations(revision: number): FieldViolation[] {
  return revision < 0 ? [{ field: 'expected_revision', description: 'must be 0 (no check) or a revision' }] : [];
}
