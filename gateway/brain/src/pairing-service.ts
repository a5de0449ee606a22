import { durationMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { CreatePairingCodeRequest, PairingService, PairRequest } from '@foundation/contracts';
import { assertOwnerOrAdmin, assertValid, clientAddressKey, nameViolations, requireCaller, requireTenant, rpcError, type FieldViolation } from '@foundation/kit';
import { nodeFactsRecord } from './executor-messages.js';
import { nodeFactsViolations } from './node-facts-rules.js';
import type { PairingCodeStore } from './pairing-code-store.js';
import type { PairingRateLimiter } from './pairing-rate-limiter.js';

const DEFAULT_TTL_MS = 10 * 60_000;
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 60 * 60_000;
const MAX_LABEL_LENGTH = 100;

/** PairingService: admins create short-lived codes; a node redeems one for its own credential. */
export class PairingServiceImpl implements ServiceImpl<typeof PairingService> {
  constructor(
    private readonly codes: PairingCodeStore,
    private readonly limiter: PairingRateLimiter,
  ) {}

  async createPairingCode(request: CreatePairingCodeRequest, context: HandlerContext) {
    const tenant = requireTenant(context);
    assertOwnerOrAdmin(tenant, 'create pairing codes');
    const violations: FieldViolation[] = [];
    const ttlMs = request.ttl ? durationMs(request.ttl) : DEFAULT_TTL_MS;
    if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) violations.push({ field: 'ttl', description: 'must be between 1 and 60 minutes' });
    if ([...request.label].length > MAX_LABEL_LENGTH) violations.push({ field: 'label', description: `must be at most ${MAX_LABEL_LENGTH} characters` });
    assertValid(violations);
    const { code, expiresAt } = await this.codes.create(tenant.orgId, requireCaller(context).userId, request.label.trim(), ttlMs);
    return { code, expireTime: timestampFromDate(expiresAt) };
  }

  async pair(request: PairRequest, context: HandlerContext) {
    const address = context.values.get(clientAddressKey);
    const retryAfterMs = await this.limiter.retryAfterMs(address);
    if (retryAfterMs > 0) {
      throw rpcError(Code.ResourceExhausted, 'RATE_LIMITED', `too many wrong pairing codes from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
    }
    const name = request.name.trim() || request.facts?.hostname.trim() || '';
    assertValid([
      ...(request.code.trim() === '' ? [{ field: 'code', description: 'is required: the code an admin created, for example K7P-92Q' }] : []),
      ...nodeFactsViolations('facts', request.facts),
      ...nameViolations('name', name),
    ]);
    const redemption = await this.codes.redeem(request.code, name, nodeFactsRecord(request.facts));
    if (redemption.outcome === 'paired') {
      return { executorId: redemption.executorId, orgId: redemption.orgId, credential: redemption.credential };
    }
    await this.limiter.recordFailure(address);
    switch (redemption.outcome) {
      case 'unknown':
        throw rpcError(Code.NotFound, 'PAIRING_CODE_UNKNOWN', 'no pairing code of that value exists here: check it, or ask an admin for a new one');
      case 'expired':
        throw rpcError(Code.FailedPrecondition, 'PAIRING_CODE_EXPIRED', 'this pairing code has expired: ask an admin for a new one');
      case 'used':
        throw rpcError(Code.FailedPrecondition, 'PAIRING_CODE_USED', 'this pairing code already paired a node; each code pairs one node once');
    }
  }
}
