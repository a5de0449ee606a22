import { RunStatus } from '@foundation/contracts';
import { inOrg, orgWithRoles, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { eventTrail, publishedWorkflow, TWO_TRANSFORMS, watchToEnd } from './workflow-fixtures.js';

describe('runs', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
  });
  after(() => platform.close());
  const asMember = () => inOrg(tenant.member, tenant.org.id);
  const asAdmin = () => inOrg(tenant.admin, tenant.org.id);

  it('runs manual trigger → transform → transform to success, every event kept in order', async () => {
    const workflow = await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, asAdmin());
    const { run } = await platform.grpc.runs.startRun({ workflowId: workflow.id, inputs: { n: 21 } }, asMember());
    expect(run!.status).to.equal(RunStatus.QUEUED);
    const events = await watchToEnd(platform.grpc, run!.id, asMember());
    expect(eventTrail(events)).to.deep.equal([
      'run.queued',
      'run.started',
      'node.started:double',
      'node.succeeded:double',
      'node.started:describe',
      'node.succeeded:describe',
      'run.succeeded',
    ]);
    expect(events.map((e) => Number(e.seq))).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(events[5]!.payload).to.deep.equal({ output: { value: 42, label: 'n=21' } });
    const { run: ended } = await platform.grpc.runs.getRun({ runId: run!.id }, asMember());
    expect(ended!.status).to.equal(RunStatus.SUCCEEDED);
  });
});
