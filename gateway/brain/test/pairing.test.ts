import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { Executor_State, NodeFactsSchema } from '@foundation/contracts';
import { expectRpcError, invalidFieldOf, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startBrainBench, type BrainBench } from './brain-fixtures.js';

const FACTS = create(NodeFactsSchema, { hostname: 'laptop', os: 'darwin', arch: 'arm64', agentVersion: '0.1.0' });
const WRONG_CODES_ALLOWED = 4;

describe('PairingService', () => {
  let bench: BrainBench;
  let redis: Redis;
  before(async () => {
    bench = await startBrainBench({ FOUNDATION_PAIRING_MAX_ATTEMPTS_PER_ADDRESS: String(WRONG_CODES_ALLOWED) });
    redis = new Redis(bench.platform.redis.url);
  });
  // Every test pairs from 127.0.0.1: start each with a clean count of wrong codes.
  beforeEach(async () => {
    const keys = await redis.keys('foundation:brain:pairing-failures:*');
    if (keys.length > 0) await redis.del(...keys);
  });
  after(async () => {
    redis?.disconnect();
    await bench?.close();
  });
  const pairing = () => bench.platform.grpc.pairing;

  describe('CreatePairingCode()', () => {
    it('gives an admin a short code without look-alike characters, expiring in 10 minutes by default', async () => {
      const { code, expireTime } = await pairing().createPairingCode({ label: 'CI runner' }, bench.asAdmin());
      expect(code).to.match(/^[A-Z2-9]{3}-[A-Z2-9]{3}$/);
      expect(code).not.to.match(/[01OIL]/);
      const inMs = timestampDate(expireTime!).getTime() - Date.now();
      expect(inMs).to.be.within(9 * 60_000, 10 * 60_000 + 1_000);
    });

    it('refuses a member with ROLE_INSUFFICIENT', async () => {
      await expectRpcError(pairing().createPairingCode({}, bench.asMember()), Code.PermissionDenied, 'ROLE_INSUFFICIENT');
    });

    it('refuses a ttl outside 1 to 60 minutes and a label over 100 characters', async () => {
      const short = await expectRpcError(pairing().createPairingCode({ ttl: durationFromMs(30_000) }, bench.asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(short)).to.equal('ttl');
      await expectRpcError(pairing().createPairingCode({ ttl: durationFromMs(61 * 60_000) }, bench.asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
      const label = await expectRpcError(pairing().createPairingCode({ label: 'x'.repeat(101) }, bench.asAdmin()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(label)).to.equal('label');
    });
  });

  describe('Pair()', () => {
    it('registers the node in the org and returns its credential, once; the node is listed offline', async () => {
      const { code } = await pairing().createPairingCode({}, bench.asAdmin());
      // Case and the dash do not matter.
      const paired = await pairing().pair({ code: code.replace('-', '').toLowerCase(), name: 'my laptop', facts: FACTS });
      expect(paired.orgId).to.equal(bench.a.org.id);
      expect(paired.credential).to.match(/^fnd_node_[A-Za-z0-9_-]{43}$/);
      const { executor } = await bench.platform.grpc.executors.getExecutor({ executorId: paired.executorId }, bench.asMember());
      expect(executor).to.deep.include({ name: 'my laptop', state: Executor_State.OFFLINE, capacity: 1, runningTasks: 0 });
      expect(executor!.facts).to.deep.include({ hostname: 'laptop', os: 'darwin', arch: 'arm64', agentVersion: '0.1.0' });
      expect(executor!.lastSeenTime).to.equal(undefined);
    });

    it('names the node after its host by default', async () => {
      const { code } = await pairing().createPairingCode({}, bench.asAdmin());
      const paired = await pairing().pair({ code, facts: FACTS });
      const { executor } = await bench.platform.grpc.executors.getExecutor({ executorId: paired.executorId }, bench.asMember());
      expect(executor!.name).to.equal('laptop');
    });

    it('refuses a code used before with PAIRING_CODE_USED', async () => {
      const { code } = await pairing().createPairingCode({}, bench.asAdmin());
      await pairing().pair({ code, facts: FACTS });
      await expectRpcError(pairing().pair({ code, facts: FACTS }), Code.FailedPrecondition, 'PAIRING_CODE_USED');
    });

    it('refuses an expired code with PAIRING_CODE_EXPIRED', async () => {
      const { code } = await pairing().createPairingCode({ ttl: durationFromMs(60_000) }, bench.asAdmin());
      await withDatabase(bench.platform, 'superuser', (sql) =>
        sql.query(`update brain.pairing_codes set expires_at = now() - interval '1 second' where org_id = $1 and used_at is null`, [bench.a.org.id]),
      );
      await expectRpcError(pairing().pair({ code, facts: FACTS }), Code.FailedPrecondition, 'PAIRING_CODE_EXPIRED');
    });

    it('refuses an unknown code with PAIRING_CODE_UNKNOWN', async () => {
      await expectRpcError(pairing().pair({ code: 'AAA-AAA', facts: FACTS }), Code.NotFound, 'PAIRING_CODE_UNKNOWN');
      await expectRpcError(pairing().pair({ code: 'not a code', facts: FACTS }), Code.NotFound, 'PAIRING_CODE_UNKNOWN');
    });

    it('refuses missing or oversized node facts with INVALID_FIELD', async () => {
      const { code } = await pairing().createPairingCode({}, bench.asAdmin());
      const missing = await expectRpcError(pairing().pair({ code }), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(missing)).to.equal('facts');
      const big = create(NodeFactsSchema, { ...FACTS, os: 'x'.repeat(300) });
      const oversized = await expectRpcError(pairing().pair({ code, facts: big }), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(oversized)).to.equal('facts.os');
      // The refused requests did not spend the code.
      await pairing().pair({ code, facts: FACTS });
    });

    it(`answers RATE_LIMITED after ${WRONG_CODES_ALLOWED} wrong codes from one address, even for a right code`, async () => {
      const { code } = await pairing().createPairingCode({}, bench.asAdmin());
      for (let i = 0; i < WRONG_CODES_ALLOWED; i++) {
        await expectRpcError(pairing().pair({ code: 'CCC-CCC', facts: FACTS }), Code.NotFound, 'PAIRING_CODE_UNKNOWN');
      }
      const limited = await expectRpcError(pairing().pair({ code, facts: FACTS }), Code.ResourceExhausted, 'RATE_LIMITED');
      expect(limited.rawMessage).to.match(/retry in \d+ s/);
    });
  });
});
