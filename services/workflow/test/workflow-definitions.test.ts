import { toJson } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { RunStatus, WorkflowSpecSchema, WorkflowState, type Workflow } from '@foundation/contracts';
import {
  expectRpcError,
  inOrg,
  invalidFieldOf,
  orgWithRoles,
  startTestPlatform,
  withDatabase,
  type OrgWithRoles,
  type PlatformClients,
  type TestPlatform,
} from '@foundation/testing';
import type { NodeJson, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { chainFrom, chainSpec, nodeOutput, publishedWorkflow, runToEnd, spec, transformNode, TWO_TRANSFORMS, violatedFields } from './workflow-fixtures.js';

/** Uses most of the DSL, in the proto-JSON form the API answers with, so a round trip must match it exactly. */
const RICH: WorkflowSpecJson = {
  inputs: [
    { name: 'n', type: 'number', required: true, description: 'how many' },
    { name: 'label', type: 'string', default: 'items' },
    { name: 'tags', type: 'array', default: ['a', { nested: [1, 2.5, null, true] }] },
  ],
  nodes: [
    { id: 'start', type: 'trigger.manual', name: 'By hand' },
    {
      id: 'double',
      type: 'transform',
      config: { expression: 'inputs.n * 2' },
      retry: { maxAttempts: 3, initialBackoff: '2s', maxBackoff: '30s', multiplier: 1.5 },
      timeout: '10s',
    },
    { id: 'wait', type: 'delay', config: { duration: '10ms' } },
  ],
  edges: [
    { from: 'start', to: 'double' },
    { from: 'double', to: 'wait', condition: 'nodes.double.output > 2' },
  ],
  timeout: '10m',
};

/** An unknown node type (nodes[3].type), a cycle (edges[2]) and an edge to no node (edges[3].to). */
const THREE_PROBLEMS: WorkflowSpecJson = {
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    { id: 'a', type: 'transform', config: { expression: '1' } },
    { id: 'b', type: 'transform', config: { expression: '2' } },
    { id: 'mail', type: 'email.send' as NodeJson['type'] },
  ],
  edges: [
    { from: 'start', to: 'a' },
    { from: 'a', to: 'b' },
    { from: 'b', to: 'a' },
    { from: 'a', to: 'ghost' },
    { from: 'start', to: 'mail' },
  ],
};
const THREE_PROBLEM_PATHS = ['nodes[3].type', 'edges[2]', 'edges[3].to'];

/** manual trigger → one transform with a constant output, to tell versions apart by what they ran. */
const constantSpec = (value: string) => chainSpec([transformNode('answer', `"${value}"`)]);

const WEBHOOK_ONLY = chainFrom({ id: 'hook', type: 'trigger.webhook' }, [transformNode('echo', 'trigger.body')]);

describe('WorkflowService', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
  });
  after(() => platform.close());

  const workflows = () => platform.grpc.workflows;
  const asOwner = () => inOrg(tenant.owner, tenant.org.id);
  const asAdmin = () => inOrg(tenant.admin, tenant.org.id);
  const asMember = () => inOrg(tenant.member, tenant.org.id);
  let counter = 0;
  const uniqueName = () => `workflow ${++counter}`;
  const create = async (json: WorkflowSpecJson = TWO_TRANSFORMS, options = asAdmin()): Promise<Workflow> =>
    (await workflows().createWorkflow({ name: uniqueName(), spec: spec(json) }, options)).workflow!;
  const get = async (workflowId: string): Promise<Workflow> => (await workflows().getWorkflow({ workflowId }, asMember())).workflow!;
  const allIds = async (clients: PlatformClients, options: ReturnType<typeof inOrg>) =>
    (await clients.workflows.listWorkflows({ includeArchived: true, page: { pageSize: 200 } }, options)).workflows.map((w) => w.id);
  /** The manual run's output of `nodeId`, once the run succeeded. */
  const ranOutput = async (workflowId: string, version: number, nodeId: string): Promise<unknown> => {
    const { run } = await platform.grpc.runs.startRun({ workflowId, version }, asMember());
    const ended = await runToEnd(platform.grpc, run!.id, asMember());
    expect(ended.status, ended.error?.message).to.equal(RunStatus.SUCCEEDED);
    expect(ended.workflowVersion).to.equal(version);
    return nodeOutput(platform.grpc, run!.id, nodeId, asMember());
  };

  describe('CreateWorkflow()', () => {
    it('creates a draft at revision 1 with no version yet, keeping the spec exactly as written', async () => {
      const { workflow } = await workflows().createWorkflow({ name: '  Nightly report ', description: 'Sums up the day', spec: spec(RICH) }, asAdmin());
      expect(workflow).to.include({
        name: 'Nightly report',
        description: 'Sums up the day',
        state: WorkflowState.DRAFT,
        revision: 1,
        latestVersion: 0,
        hasUnpublishedChanges: true,
        webhookPath: '',
        createdBy: tenant.admin.userId,
        updatedBy: tenant.admin.userId,
      });
      expect(workflow!.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(toJson(WorkflowSpecSchema, workflow!.spec!)).to.deep.equal(RICH);
      expect(workflow!.createTime).to.not.equal(undefined);

      expect(await get(workflow!.id)).to.deep.equal(workflow);
    });

    it('refuses an invalid spec with INVALID_ARGUMENT listing every problem at its path under "spec.", and writes nothing', async () => {
      const before = await allIds(platform.grpc, asMember());
      const error = await expectRpcError(
        workflows().createWorkflow({ name: uniqueName(), spec: spec(THREE_PROBLEMS) }, asAdmin()),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(violatedFields(error)).to.deep.equal(THREE_PROBLEM_PATHS.map((path) => `spec.${path}`));
      expect(invalidFieldOf(error)).to.equal('spec.nodes[3].type');
      expect(error.rawMessage).to.contain('closes a cycle').and.contain('ghost');
      expect(await allIds(platform.grpc, asMember())).to.deep.equal(before);
    });

    it('refuses a request without a spec, naming the field spec', async () => {
      const error = await expectRpcError(workflows().createWorkflow({ name: uniqueName() }, asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(violatedFields(error)).to.deep.equal(['spec']);
    });

    const invalid: [string, { name: string; description?: string }, string][] = [
      ['an empty name', { name: '' }, 'name'],
      ['a blank name', { name: '   ' }, 'name'],
      ['a 201-character name', { name: 'n'.repeat(201) }, 'name'],
      ['a name with a control character', { name: 'a\u0007b' }, 'name'],
      ['a 2001-character description', { name: 'described', description: 'd'.repeat(2001) }, 'description'],
    ];
    for (const [what, request, field] of invalid) {
      it(`refuses ${what} with INVALID_ARGUMENT (INVALID_FIELD ${field}) and writes nothing`, async () => {
        const before = await allIds(platform.grpc, asMember());
        const error = await expectRpcError(workflows().createWorkflow({ ...request, spec: spec(TWO_TRANSFORMS) }, asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal(field);
        expect(violatedFields(error)).to.deep.equal([field]);
        expect(await allIds(platform.grpc, asMember())).to.deep.equal(before);
      });
    }

    it('accepts a 200-character name and a 2000-character description, counted in characters', async () => {
      const name = 'ü'.repeat(200);
      const description = '😀'.repeat(2000);
      const { workflow } = await workflows().createWorkflow({ name, description, spec: spec(TWO_TRANSFORMS) }, asOwner());
      expect(workflow).to.include({ name, description });
    });

    it('lists a bad name and every spec problem in one error', async () => {
      const error = await expectRpcError(workflows().createWorkflow({ name: '', spec: spec(THREE_PROBLEMS) }, asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(violatedFields(error)).to.deep.equal(['name', ...THREE_PROBLEM_PATHS.map((path) => `spec.${path}`)]);
    });
  });

  describe('ListWorkflows()', () => {
    it('lists newest first, page by page, and refuses a page token it did not issue', async () => {
      const listed = await orgWithRoles(platform.grpc);
      const names = ['one', 'two', 'three', 'four', 'five'];
      for (const name of names) await workflows().createWorkflow({ name, spec: spec(TWO_TRANSFORMS) }, inOrg(listed.admin, listed.org.id));

      const pages: string[][] = [];
      let pageToken = '';
      do {
        const res = await workflows().listWorkflows({ page: { pageSize: 2, pageToken } }, inOrg(listed.member, listed.org.id));
        pages.push(res.workflows.map((w) => w.name));
        pageToken = res.page?.nextPageToken ?? '';
      } while (pageToken !== '' && pages.length < 10);
      expect(pages).to.deep.equal([['five', 'four'], ['three', 'two'], ['one']]);

      const forged = Buffer.from(JSON.stringify({ key: 'x', id: 'not-a-uuid' })).toString('base64url');
      for (const token of ['garbage', forged]) {
        const error = await expectRpcError(
          workflows().listWorkflows({ page: { pageSize: 2, pageToken: token } }, inOrg(listed.member, listed.org.id)),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(invalidFieldOf(error)).to.equal('page.page_token');
      }
      const error = await expectRpcError(workflows().listWorkflows({ page: { pageSize: 201 } }, asMember()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('page.page_size');
    });

    it('hides archived workflows unless include_archived is set', async () => {
      const listed = await orgWithRoles(platform.grpc);
      const asListedAdmin = inOrg(listed.admin, listed.org.id);
      const kept = (await workflows().createWorkflow({ name: 'kept', spec: spec(TWO_TRANSFORMS) }, asListedAdmin)).workflow!;
      const archived = (await workflows().createWorkflow({ name: 'archived', spec: spec(TWO_TRANSFORMS) }, asListedAdmin)).workflow!;
      await workflows().archiveWorkflow({ workflowId: archived.id }, asListedAdmin);

      const visible = await workflows().listWorkflows({}, inOrg(listed.member, listed.org.id));
      expect(visible.workflows.map((w) => w.id)).to.deep.equal([kept.id]);
      const all = await workflows().listWorkflows({ includeArchived: true }, inOrg(listed.member, listed.org.id));
      expect(all.workflows.map((w) => [w.id, w.state])).to.deep.equal([
        [archived.id, WorkflowState.ARCHIVED],
        [kept.id, WorkflowState.DRAFT],
      ]);
    });
  });

  describe('UpdateWorkflow()', () => {
    it("replaces the draft's name, description and spec and bumps the revision", async () => {
      const created = await create(TWO_TRANSFORMS, asOwner());
      const { workflow } = await workflows().updateWorkflow(
        { workflowId: created.id, name: 'renamed', description: 'now rich', spec: spec(RICH), expectedRevision: 1 },
        asAdmin(),
      );
      expect(workflow).to.include({
        id: created.id,
        name: 'renamed',
        description: 'now rich',
        state: WorkflowState.DRAFT,
        revision: 2,
        latestVersion: 0,
        hasUnpublishedChanges: true,
        createdBy: tenant.owner.userId,
        updatedBy: tenant.admin.userId,
      });
      expect(toJson(WorkflowSpecSchema, workflow!.spec!)).to.deep.equal(RICH);
      expect(await get(created.id)).to.deep.equal(workflow);

      const again = await workflows().updateWorkflow({ workflowId: created.id, name: 'renamed', spec: spec(RICH) }, asAdmin());
      expect(again.workflow).to.include({ revision: 3, description: '' });
    });

    it('refuses a stale expected_revision with ABORTED (REVISION_CONFLICT) and changes nothing', async () => {
      const created = await create();
      await workflows().updateWorkflow({ workflowId: created.id, name: 'first edit', spec: spec(TWO_TRANSFORMS), expectedRevision: 1 }, asAdmin());
      const before = await get(created.id);

      const error = await expectRpcError(
        workflows().updateWorkflow({ workflowId: created.id, name: 'lost edit', spec: spec(RICH), expectedRevision: 1 }, asAdmin()),
        Code.Aborted,
        'REVISION_CONFLICT',
      );
      expect(error.rawMessage).to.contain('revision 2');
      expect(await get(created.id)).to.deep.equal(before);
      expect(before).to.include({ name: 'first edit', revision: 2 });

      const negative = await expectRpcError(
        workflows().updateWorkflow({ workflowId: created.id, name: 'x', spec: spec(TWO_TRANSFORMS), expectedRevision: -1 }, asAdmin()),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(invalidFieldOf(negative)).to.equal('expected_revision');
    });

    it('lets exactly one of two concurrent updates at the same expected_revision win', async () => {
      const created = await create();
      const results = await Promise.allSettled(
        ['left', 'right'].map((name) => workflows().updateWorkflow({ workflowId: created.id, name, spec: spec(TWO_TRANSFORMS), expectedRevision: 1 }, asAdmin())),
      );
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.workflow!] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(won).to.have.length(1);
      await expectRpcError(Promise.reject(lost[0]), Code.Aborted, 'REVISION_CONFLICT');
      expect(await get(created.id)).to.include({ name: won[0]!.name, revision: 2 });
    });

    it('refuses an invalid spec, a bad name or description like CreateWorkflow, and changes nothing', async () => {
      const created = await create();
      const error = await expectRpcError(
        workflows().updateWorkflow({ workflowId: created.id, name: created.name, spec: spec(THREE_PROBLEMS) }, asAdmin()),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(violatedFields(error)).to.deep.equal(THREE_PROBLEM_PATHS.map((path) => `spec.${path}`));
      for (const [request, field] of [
        [{ name: '' }, 'name'],
        [{ name: 'n'.repeat(201) }, 'name'],
        [{ name: 'ok', description: 'd'.repeat(2001) }, 'description'],
      ] as const) {
        const refused = await expectRpcError(
          workflows().updateWorkflow({ workflowId: created.id, ...request, spec: spec(TWO_TRANSFORMS) }, asAdmin()),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(violatedFields(refused)).to.deep.equal([field]);
      }
      expect(await get(created.id)).to.deep.equal(created);
    });

    it('answers NOT_FOUND for a workflow that does not exist', async () => {
      await expectRpcError(
        workflows().updateWorkflow({ workflowId: '0190aaaa-0000-7000-8000-000000000000', name: 'x', spec: spec(TWO_TRANSFORMS) }, asAdmin()),
        Code.NotFound,
        'NOT_FOUND',
      );
    });
  });

  describe('ValidateWorkflow()', () => {
    it('answers an invalid spec with valid false and every problem at its path, saving nothing', async () => {
      const before = await allIds(platform.grpc, asMember());
      const res = await workflows().validateWorkflow({ spec: spec(THREE_PROBLEMS) }, asMember());
      expect(res.valid).to.equal(false);
      expect(res.problems.map((p) => p.path)).to.deep.equal(THREE_PROBLEM_PATHS);
      expect(res.problems[1]!.message).to.match(/closes a cycle a → b → a/);
      expect(await allIds(platform.grpc, asMember())).to.deep.equal(before);
    });

    it('answers a good spec with valid true and no problems, for any member', async () => {
      for (const options of [asMember(), asAdmin(), asOwner()]) {
        const res = await workflows().validateWorkflow({ spec: spec(RICH) }, options);
        expect(res).to.include({ valid: true });
        expect(res.problems).to.deep.equal([]);
      }
    });
  });

  describe('PublishWorkflow()', () => {
    it('freezes the draft as version 1, which ListWorkflowVersions shows with its spec', async () => {
      const created = await create(RICH);
      const { workflow, version } = await workflows().publishWorkflow({ workflowId: created.id, expectedRevision: 1 }, asAdmin());
      expect(workflow).to.include({ state: WorkflowState.PUBLISHED, latestVersion: 1, hasUnpublishedChanges: false, revision: 1, updatedBy: tenant.admin.userId });
      expect(version).to.include({ workflowId: created.id, version: 1, publishedBy: tenant.admin.userId });
      expect(toJson(WorkflowSpecSchema, version!.spec!)).to.deep.equal(RICH);
      expect(await get(created.id)).to.deep.equal(workflow);

      const { versions, page } = await workflows().listWorkflowVersions({ workflowId: created.id }, asMember());
      expect(versions).to.deep.equal([version]);
      expect(page?.nextPageToken).to.equal('');
    });

    it('refuses to publish a draft equal to the latest version with FAILED_PRECONDITION (NOTHING_TO_PUBLISH)', async () => {
      const created = await create();
      await workflows().publishWorkflow({ workflowId: created.id }, asAdmin());
      await expectRpcError(workflows().publishWorkflow({ workflowId: created.id }, asAdmin()), Code.FailedPrecondition, 'NOTHING_TO_PUBLISH');
      // Saving the same spec again bumps the revision but changes nothing to publish.
      await workflows().updateWorkflow({ workflowId: created.id, name: created.name, spec: spec(TWO_TRANSFORMS) }, asAdmin());
      expect(await get(created.id)).to.include({ revision: 2, hasUnpublishedChanges: false });
      await expectRpcError(workflows().publishWorkflow({ workflowId: created.id }, asAdmin()), Code.FailedPrecondition, 'NOTHING_TO_PUBLISH');
      expect((await workflows().listWorkflowVersions({ workflowId: created.id }, asMember())).versions.map((v) => v.version)).to.deep.equal([1]);
    });

    it('publishes one version when two publishes of the same draft race', async () => {
      const created = await create();
      const results = await Promise.allSettled([0, 1].map(() => workflows().publishWorkflow({ workflowId: created.id }, asAdmin())));
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      await expectRpcError(Promise.reject(lost.reason), Code.FailedPrecondition, 'NOTHING_TO_PUBLISH');
      expect((await workflows().listWorkflowVersions({ workflowId: created.id }, asMember())).versions.map((v) => v.version)).to.deep.equal([1]);
    });

    it('refuses a stale expected_revision with ABORTED (REVISION_CONFLICT) and publishes nothing', async () => {
      const created = await create();
      await workflows().updateWorkflow({ workflowId: created.id, name: created.name, spec: spec(RICH) }, asAdmin());
      await expectRpcError(workflows().publishWorkflow({ workflowId: created.id, expectedRevision: 1 }, asAdmin()), Code.Aborted, 'REVISION_CONFLICT');
      expect(await get(created.id)).to.include({ state: WorkflowState.DRAFT, latestVersion: 0 });
    });

    it('starts a new draft when a published workflow is edited; the published version keeps running its own spec', async () => {
      const created = await create(constantSpec('old'));
      const { version: v1 } = await workflows().publishWorkflow({ workflowId: created.id }, asAdmin());

      const { workflow: edited } = await workflows().updateWorkflow({ workflowId: created.id, name: created.name, spec: spec(constantSpec('new')) }, asAdmin());
      expect(edited).to.include({ state: WorkflowState.PUBLISHED, latestVersion: 1, hasUnpublishedChanges: true, revision: 2 });
      expect((await workflows().listWorkflowVersions({ workflowId: created.id }, asMember())).versions).to.deep.equal([v1]);
      expect(await ranOutput(created.id, 1, 'answer')).to.equal('old');

      const { workflow, version: v2 } = await workflows().publishWorkflow({ workflowId: created.id, expectedRevision: 2 }, asAdmin());
      expect(workflow).to.include({ state: WorkflowState.PUBLISHED, latestVersion: 2, hasUnpublishedChanges: false });
      expect(v2).to.include({ version: 2 });
      expect(toJson(WorkflowSpecSchema, v2!.spec!)).to.deep.equal(constantSpec('new'));

      expect(await ranOutput(created.id, 1, 'answer')).to.equal('old');
      expect(await ranOutput(created.id, 2, 'answer')).to.equal('new');
      const { run: latest } = await platform.grpc.runs.startRun({ workflowId: created.id }, asMember());
      expect(latest!.workflowVersion).to.equal(2);
    });

    it('lists versions newest first, page by page', async () => {
      const created = await create(constantSpec('v1'));
      await workflows().publishWorkflow({ workflowId: created.id }, asAdmin());
      for (const value of ['v2', 'v3']) {
        await workflows().updateWorkflow({ workflowId: created.id, name: created.name, spec: spec(constantSpec(value)) }, asAdmin());
        await workflows().publishWorkflow({ workflowId: created.id }, asAdmin());
      }

      const first = await workflows().listWorkflowVersions({ workflowId: created.id, page: { pageSize: 2 } }, asMember());
      expect(first.versions.map((v) => v.version)).to.deep.equal([3, 2]);
      expect(first.versions.map((v) => toJson(WorkflowSpecSchema, v.spec!))).to.deep.equal([constantSpec('v3'), constantSpec('v2')]);
      expect(first.page?.nextPageToken).to.not.equal('');
      const second = await workflows().listWorkflowVersions({ workflowId: created.id, page: { pageSize: 2, pageToken: first.page!.nextPageToken } }, asMember());
      expect(second.versions.map((v) => v.version)).to.deep.equal([1]);
      expect(second.page?.nextPageToken).to.equal('');

      const error = await expectRpcError(
        workflows().listWorkflowVersions({ workflowId: created.id, page: { pageToken: 'garbage' } }, asMember()),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(invalidFieldOf(error)).to.equal('page.page_token');
    });
  });

  describe('ArchiveWorkflow()', () => {
    it('archives a workflow, twice without error; it can then neither change, publish nor run', async () => {
      const published = await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, asAdmin());
      const { workflow } = await workflows().archiveWorkflow({ workflowId: published.id }, asAdmin());
      expect(workflow).to.include({ state: WorkflowState.ARCHIVED, latestVersion: 1 });
      const again = await workflows().archiveWorkflow({ workflowId: published.id }, asOwner());
      expect(again.workflow).to.deep.equal(workflow);
      expect(await get(published.id)).to.deep.equal(workflow);

      await expectRpcError(platform.grpc.runs.startRun({ workflowId: published.id, inputs: { n: 1 } }, asMember()), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
      await expectRpcError(
        workflows().updateWorkflow({ workflowId: published.id, name: 'revived', spec: spec(RICH) }, asAdmin()),
        Code.FailedPrecondition,
        'WORKFLOW_ARCHIVED',
      );
      await expectRpcError(workflows().publishWorkflow({ workflowId: published.id }, asAdmin()), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
      expect(await get(published.id)).to.deep.equal(workflow);
    });

    it('archives a draft that was never published', async () => {
      const created = await create();
      const { workflow } = await workflows().archiveWorkflow({ workflowId: created.id }, asAdmin());
      expect(workflow).to.include({ state: WorkflowState.ARCHIVED, latestVersion: 0 });
      await expectRpcError(platform.grpc.runs.startRun({ workflowId: created.id, inputs: { n: 1 } }, asMember()), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
    });
  });

  describe('StartRun() of a workflow', () => {
    it('refuses a draft-only workflow with FAILED_PRECONDITION (WORKFLOW_NOT_PUBLISHED)', async () => {
      const created = await create();
      await expectRpcError(platform.grpc.runs.startRun({ workflowId: created.id, inputs: { n: 1 } }, asMember()), Code.FailedPrecondition, 'WORKFLOW_NOT_PUBLISHED');
    });

    it('refuses a version without a trigger.manual node with FAILED_PRECONDITION (NO_MANUAL_TRIGGER)', async () => {
      const published = await publishedWorkflow(platform.grpc, WEBHOOK_ONLY, asAdmin());
      await expectRpcError(platform.grpc.runs.startRun({ workflowId: published.id }, asMember()), Code.FailedPrecondition, 'NO_MANUAL_TRIGGER');
      expect((await platform.grpc.runs.listRuns({ workflowId: published.id }, asMember())).runs).to.deep.equal([]);
    });

    it('refuses a version that was never published with INVALID_FIELD version', async () => {
      const published = await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, asAdmin());
      const start = platform.grpc.runs.startRun({ workflowId: published.id, version: 2, inputs: { n: 1 } }, asMember());
      const error = await expectRpcError(start, Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('version');
    });
  });

  describe('roles', () => {
    it('lets a member read, list and validate, but not create, update, publish or archive', async () => {
      const created = await create();
      const denied = [
        () => workflows().createWorkflow({ name: uniqueName(), spec: spec(TWO_TRANSFORMS) }, asMember()),
        () => workflows().updateWorkflow({ workflowId: created.id, name: 'by a member', spec: spec(TWO_TRANSFORMS) }, asMember()),
        () => workflows().publishWorkflow({ workflowId: created.id }, asMember()),
        () => workflows().archiveWorkflow({ workflowId: created.id }, asMember()),
      ];
      for (const call of denied) await expectRpcError(call(), Code.PermissionDenied, 'ROLE_INSUFFICIENT');
      expect(await get(created.id)).to.deep.equal(created);

      expect(await allIds(platform.grpc, asMember())).to.include(created.id);
      expect((await workflows().listWorkflowVersions({ workflowId: created.id }, asMember())).versions).to.deep.equal([]);
      expect((await workflows().validateWorkflow({ spec: spec(TWO_TRANSFORMS) }, asMember())).valid).to.equal(true);
    });

    it('lets an admin and an owner create, update, publish and archive', async () => {
      for (const [account, options] of [
        [tenant.admin, asAdmin()],
        [tenant.owner, asOwner()],
      ] as const) {
        const created = await create(TWO_TRANSFORMS, options);
        await workflows().updateWorkflow({ workflowId: created.id, name: 'changed', spec: spec(RICH) }, options);
        await workflows().publishWorkflow({ workflowId: created.id }, options);
        const { workflow } = await workflows().archiveWorkflow({ workflowId: created.id }, options);
        expect(workflow).to.include({ name: 'changed', state: WorkflowState.ARCHIVED, latestVersion: 1, updatedBy: account.userId });
      }
    });
  });

  describe('tenant isolation', () => {
    it("never shows one org's workflow to another: not listed, NOT_FOUND to read, change, publish, archive or run", async () => {
      const other = await orgWithRoles(platform.grpc);
      const ofA = await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, asAdmin());
      await workflows().updateWorkflow({ workflowId: ofA.id, name: ofA.name, spec: spec(RICH) }, asAdmin());
      const before = await get(ofA.id);
      const asB = inOrg(other.member, other.org.id);
      const asBAdmin = inOrg(other.owner, other.org.id);

      expect(await allIds(platform.grpc, asB)).to.deep.equal([]);
      await expectRpcError(workflows().getWorkflow({ workflowId: ofA.id }, asB), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(workflows().listWorkflowVersions({ workflowId: ofA.id }, asB), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(workflows().updateWorkflow({ workflowId: ofA.id, name: 'hijacked', spec: spec(TWO_TRANSFORMS) }, asBAdmin), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(workflows().publishWorkflow({ workflowId: ofA.id }, asBAdmin), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(workflows().archiveWorkflow({ workflowId: ofA.id }, asBAdmin), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(platform.grpc.runs.startRun({ workflowId: ofA.id, inputs: { n: 1 } }, asB), Code.NotFound, 'NOT_FOUND');
      // A member of B is refused by role before anything is looked up, so nothing is told either way.
      await expectRpcError(workflows().archiveWorkflow({ workflowId: ofA.id }, asB), Code.PermissionDenied, 'ROLE_INSUFFICIENT');

      expect(await get(ofA.id)).to.deep.equal(before);
      expect(await allIds(platform.grpc, asMember())).to.include(ofA.id);
    });

    it("refuses a member of org B who names org A in X-Org-Id", async () => {
      const other = await orgWithRoles(platform.grpc);
      await expectRpcError(workflows().listWorkflows({}, inOrg(other.owner, tenant.org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
    });

    it('lets row-level security show the app role no workflow, run or run event without an org set', async () => {
      const published = await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, asAdmin());
      const { run } = await platform.grpc.runs.startRun({ workflowId: published.id, inputs: { n: 2 } }, asMember());
      await runToEnd(platform.grpc, run!.id, asMember());
      const tables = ['workflows', 'workflow_versions', 'workflow_runs', 'workflow_run_events'];
      const count = (role: 'app' | 'superuser') =>
        withDatabase(platform, role, (db) =>
          Promise.all(
            tables.map(async (table) => (await db.query(`select count(*)::int as n from workflow.${table} where org_id = $1`, [tenant.org.id])).rows[0].n as number),
          ),
        );
      const stored = await count('superuser');
      expect(stored.every((n) => n > 0), `rows stored: ${stored.join(', ')}`).to.equal(true);
      expect(await count('app')).to.deep.equal([0, 0, 0, 0]);
    });
  });

  describe('ids', () => {
    const byId = (clients: PlatformClients, workflowId: string): [string, () => Promise<unknown>][] => [
      ['GetWorkflow', () => clients.workflows.getWorkflow({ workflowId }, asAdmin())],
      ['UpdateWorkflow', () => clients.workflows.updateWorkflow({ workflowId, name: 'x', spec: spec(TWO_TRANSFORMS) }, asAdmin())],
      ['PublishWorkflow', () => clients.workflows.publishWorkflow({ workflowId }, asAdmin())],
      ['ArchiveWorkflow', () => clients.workflows.archiveWorkflow({ workflowId }, asAdmin())],
      ['ListWorkflowVersions', () => clients.workflows.listWorkflowVersions({ workflowId }, asAdmin())],
    ];

    for (const protocol of ['grpc', 'connect'] as const) {
      it(`refuses a workflow_id that is empty or not a UUID with INVALID_FIELD workflow_id (${protocol})`, async () => {
        for (const workflowId of ['', 'nope', '0190aaaa-0000-7000-8000-000000000000x']) {
          for (const [method, call] of byId(platform[protocol], workflowId)) {
            const error = await expectRpcError(call(), Code.InvalidArgument, 'INVALID_FIELD').catch((e: Error) => {
              throw new Error(`${method}(${JSON.stringify(workflowId)}): ${e.message}`);
            });
            expect(invalidFieldOf(error), method).to.equal('workflow_id');
          }
        }
      });

      it(`answers NOT_FOUND for a well-formed id that names no workflow (${protocol})`, async () => {
        for (const [method, call] of byId(platform[protocol], '0190aaaa-0000-7000-8000-000000000000')) {
          await expectRpcError(call(), Code.NotFound, 'NOT_FOUND').catch((e: Error) => {
            throw new Error(`${method}: ${e.message}`);
          });
        }
      });
    }
  });

  describe('over the Connect protocol', () => {
    it('creates, publishes and reads a workflow, and lists every spec problem in the error', async () => {
      const connect = platform.connect.workflows;
      const { workflow } = await connect.createWorkflow({ name: uniqueName(), spec: spec(RICH) }, asAdmin());
      const { workflow: published } = await connect.publishWorkflow({ workflowId: workflow!.id }, asAdmin());
      expect(published).to.include({ state: WorkflowState.PUBLISHED, latestVersion: 1 });
      expect(await get(workflow!.id)).to.deep.equal(published);
      expect((await connect.getWorkflow({ workflowId: workflow!.id }, asMember())).workflow).to.deep.equal(published);

      const invalid = connect.createWorkflow({ name: uniqueName(), spec: spec(THREE_PROBLEMS) }, asAdmin());
      const error = await expectRpcError(invalid, Code.InvalidArgument, 'INVALID_FIELD');
      expect(violatedFields(error)).to.deep.equal(THREE_PROBLEM_PATHS.map((path) => `spec.${path}`));
      await expectRpcError(connect.publishWorkflow({ workflowId: workflow!.id }, asMember()), Code.PermissionDenied, 'ROLE_INSUFFICIENT');
    });
  });
});
