import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { Code, createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '@foundation/contracts';
import { expectRpcError, inOrg, signUp, startTestPlatform, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { postConnect } from './support/connect-http.js';

interface RpcLogLine {
  msg: string;
  requestId: string;
  rpc: string;
  code: string;
  durationMs: number;
  orgId?: string;
  userId?: string;
}

describe('Operations', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform?.close());

  describe('grpc.health.v1.Health/Check', () => {
    let health: Client<typeof Health>;
    before(() => {
      health = createClient(Health, createGrpcTransport({ baseUrl: platform.baseUrl }));
    });

    it('reports the whole process ("") and each service it runs as SERVING', async () => {
      for (const service of ['', 'foundation.auth.v1.AuthService', 'foundation.org.v1.OrgService', 'foundation.meta.v1.MetaService']) {
        const res = await health.check({ service });
        expect(ServingStatus[res.status], `status of "${service}"`).to.equal('SERVING');
      }
    });

    it('answers a service it does not run with NOT_FOUND', async () => {
      await expectRpcError(health.check({ service: 'foundation.nothing.v1.NothingService' }), Code.NotFound);
    });
  });

  describe('liveness and readiness', () => {
    for (const [path, body] of [['/healthz', { status: 'ok' }], ['/readyz', { status: 'ready' }]] as const) {
      it(`answers GET ${path} with 200 over HTTP/1.1 and HTTP/2`, async () => {
        const h1 = await fetch(new URL(path, platform.baseUrl), { signal: AbortSignal.timeout(10_000) });
        expect(h1.status).to.equal(200);
        expect(await h1.json()).to.deep.equal(body);
        const h2 = await http2Get(platform.baseUrl, path);
        expect(h2.status).to.equal(200);
        expect(h2.json()).to.deep.equal(body);
      });
    }
  });

  describe('/metrics', () => {
    it('counts each RPC by service, method and code and records its duration histogram', async () => {
      const counter = 'foundation_rpc_requests_total{service="foundation.meta.v1.MetaService",method="GetVersion",code="ok"}';
      const before = sampleValue(await metricsText(platform.baseUrl), counter) ?? 0;
      await platform.grpc.meta.getVersion({});
      await platform.connect.meta.getVersion({});
      const text = await metricsText(platform.baseUrl);
      expect(sampleValue(text, counter)).to.equal(before + 2);
      expect(text).to.contain('# TYPE foundation_rpc_duration_seconds histogram');
      const labels = 'service="foundation.meta.v1.MetaService",method="GetVersion",code="ok"';
      expect(sampleValue(text, `foundation_rpc_duration_seconds_count{${labels}}`)).to.equal(before + 2);
      expect(sampleValue(text, `foundation_rpc_duration_seconds_bucket{le="+Inf",${labels}}`)).to.equal(before + 2);
      expect(sampleValue(text, `foundation_rpc_duration_seconds_sum{${labels}}`)).to.be.greaterThan(0);
    });

    it('counts failed RPCs under their code', async () => {
      await expectRpcError(platform.grpc.auth.getMe({}), Code.Unauthenticated);
      const text = await metricsText(platform.baseUrl);
      expect(sampleValue(text, 'foundation_rpc_requests_total{service="foundation.auth.v1.AuthService",method="GetMe",code="unauthenticated"}')).to.be.at.least(1);
    });
  });

  describe('plain HTTP routes', () => {
    it('serves GET /v1/meta/version as the same JSON as MetaService/GetVersion', async () => {
      const res = await fetch(new URL('/v1/meta/version', platform.baseUrl), { signal: AbortSignal.timeout(10_000) });
      expect(res.status).to.equal(200);
      const rpc = await postConnect(platform.baseUrl, '/foundation.meta.v1.MetaService/GetVersion', '{}');
      expect(await res.json()).to.deep.equal(rpc.json);
      expect(rpc.json).to.have.all.keys('version', 'apiVersion', 'runtime');
    });

    it('answers an unknown path with a 404 JSON body over HTTP/1.1 and HTTP/2', async () => {
      const h1 = await fetch(new URL('/no/such/thing', platform.baseUrl), { signal: AbortSignal.timeout(10_000) });
      expect(h1.status).to.equal(404);
      expect(h1.headers.get('content-type')).to.match(/^application\/json/);
      expect(await h1.json()).to.include({ code: 'not_found' });
      const h2 = await http2Get(platform.baseUrl, '/no/such/thing');
      expect(h2.status).to.equal(404);
      expect(h2.json()).to.include({ code: 'not_found' });
    });
  });

  describe('request ids and the request log', () => {
    it('echoes the x-request-id a client sends, over gRPC and Connect, on success and on error', async () => {
      for (const clients of [platform.grpc, platform.connect]) {
        const ok = randomUUID();
        let echoed: string | null = null;
        await clients.meta.getVersion({}, { headers: { 'x-request-id': ok }, onHeader: (h) => (echoed = h.get('x-request-id')) });
        expect(echoed).to.equal(ok);

        const failed = randomUUID();
        const error = await expectRpcError(clients.auth.getMe({}, { headers: { 'x-request-id': failed } }), Code.Unauthenticated);
        expect(error.metadata.get('x-request-id')).to.equal(failed);
      }
    });

    it('replaces an unusable x-request-id with its own', async () => {
      let echoed: string | null = null;
      await platform.grpc.meta.getVersion({}, { headers: { 'x-request-id': 'not a usable id; has spaces' }, onHeader: (h) => (echoed = h.get('x-request-id')) });
      expect(echoed).to.match(/^[0-9a-f-]{36}$/);
    });

    it('writes exactly one JSON line per RPC with the request id, RPC, code and duration', async () => {
      const requestId = `ops-${randomUUID()}`;
      await platform.connect.meta.getVersion({}, { headers: { 'x-request-id': requestId } });
      const [line, ...more] = rpcLogLines(platform, requestId);
      expect(more).to.have.length(0);
      expect(line).to.include({ msg: 'rpc', requestId, rpc: 'foundation.meta.v1.MetaService/GetVersion', code: 'ok' });
      expect(line!.durationMs).to.be.a('number').and.at.least(0);

      const failedId = `ops-${randomUUID()}`;
      await expectRpcError(platform.grpc.auth.getMe({}, { headers: { 'x-request-id': failedId } }), Code.Unauthenticated);
      expect(rpcLogLines(platform, failedId)).to.have.length(1);
      expect(rpcLogLines(platform, failedId)[0]).to.include({ rpc: 'foundation.auth.v1.AuthService/GetMe', code: 'unauthenticated' });
    });

    it('puts the org id and user id on the line of a tenant call', async () => {
      const owner = await signUp(platform.grpc);
      const { org } = await platform.grpc.org.createOrg({ name: 'Ops Org', slug: `ops-${randomUUID().slice(0, 8)}` }, owner.as);
      const requestId = `ops-${randomUUID()}`;
      const call = inOrg(owner, org!.id);
      await platform.grpc.org.getOrg({}, { headers: { ...call.headers, 'x-request-id': requestId } });
      const lines = rpcLogLines(platform, requestId);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ rpc: 'foundation.org.v1.OrgService/GetOrg', code: 'ok', orgId: org!.id, userId: owner.userId });
    });
  });
});

function rpcLogLines(platform: TestPlatform, requestId: string): RpcLogLine[] {
  return platform.logLines
    .map((line) => JSON.parse(line) as RpcLogLine)
    .filter((line) => line.msg === 'rpc' && line.requestId === requestId);
}

async function metricsText(baseUrl: string): Promise<string> {
  const res = await fetch(new URL('/metrics', baseUrl), { signal: AbortSignal.timeout(10_000) });
  expect(res.status).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^text\/plain/);
  return res.text();
}

/** The value of one Prometheus sample, written as `name{labels}` exactly as exposed; undefined when absent. */
function sampleValue(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** A GET over a fresh HTTP/2 cleartext connection (prior knowledge, as gRPC clients connect). */
function http2Get(baseUrl: string, path: string): Promise<{ status: number; json(): unknown }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on('error', reject);
    session.setTimeout(10_000, () => session.destroy(new Error(`no answer to GET ${path} over HTTP/2 within 10 s`)));
    const req = session.request({ ':method': 'GET', ':path': path });
    const chunks: Buffer[] = [];
    let status = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      const body = Buffer.concat(chunks).toString('utf8');
      resolve({ status, json: () => JSON.parse(body) });
    });
    req.end();
  });
}
