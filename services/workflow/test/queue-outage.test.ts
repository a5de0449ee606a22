import { Code } from '@connectrpc/connect';
import { expectRpcError, inOrg, orgWithRoles, startTestPlatform, withDatabase, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { publishedWorkflow, TWO_TRANSFORMS } from './workflow-fixtures.js';

/** Every run row of the platform, whatever its org. */
async function runRows(platform: TestPlatform): Promise<number> {
  return withDatabase(platform, 'superuser', async (db) => {
    const { rows } = await db.query('select count(*)::int as count from workflow.workflow_runs');
    return rows[0].count as number;
  });
}

// A platform of its own: its Redis is stopped for good.
describe('RunService: StartRun() while the run queue is down', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  let workflowId: string;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
    workflowId = (await publishedWorkflow(platform.grpc, TWO_TRANSFORMS, inOrg(tenant.admin, tenant.org.id))).id;
    await platform.redis.stop();
  });
  after(() => platform?.close());

  it('answers UNAVAILABLE (QUEUE_UNAVAILABLE) within the enqueue deadline and leaves no run behind', async () => {
    const asked = Date.now();
    await expectRpcError(
      platform.grpc.runs.startRun({ workflowId, inputs: { n: 1 } }, inOrg(tenant.member, tenant.org.id)),
      Code.Unavailable,
      'QUEUE_UNAVAILABLE',
    );
    expect(Date.now() - asked).to.be.below(1_500);
    expect(await runRows(platform)).to.equal(0);
  });

  it('answers HTTP 503 on the Connect protocol', async () => {
    const asked = Date.now();
    const response = await fetch(`${platform.baseUrl}/foundation.workflow.v1.RunService/StartRun`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...inOrg(tenant.member, tenant.org.id).headers },
      body: JSON.stringify({ workflowId, inputs: { n: 1 } }),
    });
    expect(Date.now() - asked).to.be.below(1_500);
    expect(response.status).to.equal(503);
    const body = (await response.json()) as { code: string };
    expect(body.code).to.equal('unavailable');
    expect(await runRows(platform)).to.equal(0);
  });
});
