import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  SecretSchema,
  type CreateSecretRequest,
  type DeleteSecretRequest,
  type GetSecretRequest,
  type ListSecretsRequest,
  type ResolveSecretRequest,
  type RollbackSecretRequest,
  type SecretsService,
  type UpdateSecretRequest,
} from '@foundation/contracts';
import {
  assertOwnerOrAdmin,
  assertValid,
  pageOf,
  readPage,
  requestIdKey,
  requireCaller,
  requireServiceCaller,
  requireTenant,
  rpcError,
  uuidViolations,
  type Logger,
} from '@foundation/kit';
import type { Secret } from './entities.js';
import { descriptionViolations, isSecretName, secretNameViolations, secretValueViolations } from './secret-fields.js';
import type { SecretStore } from './secret-store.js';
import { SecretUndecryptableError } from './secret-undecryptable-error.js';

/**
 * The SecretsService handlers: validate, authorize, call the store, map the result. No response but
 * ResolveSecret's carries a value, and nothing here logs one.
 */
export class SecretsServiceImpl implements ServiceImpl<typeof SecretsService> {
  constructor(
    private readonly store: SecretStore,
    private readonly log: Logger,
  ) {}

  async createSecret(req: CreateSecretRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([
      ...secretNameViolations('name', req.name),
      ...secretValueViolations('value', req.value),
      ...descriptionViolations('description', req.description),
    ]);
    assertOwnerOrAdmin(tenant, 'change secrets');
    const { userId } = requireCaller(ctx);
    const secret = await this.undecryptableAsRpcError(ctx, () => this.store.create(tenant.orgId, userId, req));
    return { secret: secretMessage(secret) };
  }

  async updateSecret(req: UpdateSecretRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...secretNameViolations('name', req.name), ...secretValueViolations('value', req.value)]);
    assertOwnerOrAdmin(tenant, 'change secrets');
    const { userId } = requireCaller(ctx);
    const secret = await this.undecryptableAsRpcError(ctx, () => this.store.update(tenant.orgId, userId, req.name, req.value));
    return { secret: secretMessage(secret) };
  }

  async rollbackSecret(req: RollbackSecretRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([
      ...secretNameViolations('name', req.name),
      ...(req.version >= 1 ? [] : [{ field: 'version', description: 'must be 1 or more' }]),
    ]);
    assertOwnerOrAdmin(tenant, 'change secrets');
    return { secret: secretMessage(await this.store.rollback(tenant.orgId, requireCaller(ctx).userId, req.name, req.version)) };
  }

  async getSecret(req: GetSecretRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(secretNameViolations('name', req.name));
    return { secret: secretMessage(await this.store.get(tenant.orgId, req.name)) };
  }

  async listSecrets(req: ListSecretsRequest, ctx: HandlerContext) {
    const window = readPage(req.page, 'page', isSecretName);
    const rows = await this.store.list(requireTenant(ctx).orgId, window);
    const page = pageOf(rows, window, (s) => ({ key: s.name, id: s.id }));
    return { secrets: page.items.map(secretMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async deleteSecret(req: DeleteSecretRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(secretNameViolations('name', req.name));
    assertOwnerOrAdmin(tenant, 'change secrets');
    await this.store.delete(tenant.orgId, req.name);
    return {};
  }

  async resolveSecret(req: ResolveSecretRequest, ctx: HandlerContext) {
    assertValid([...uuidViolations('org_id', req.orgId), ...secretNameViolations('name', req.name), ...uuidViolations('run_id', req.runId)]);
    const resolver = { callerService: requireServiceCaller(ctx), runId: req.runId.toLowerCase() };
    return this.undecryptableAsRpcError(ctx, () => this.store.resolve(req.orgId.toLowerCase(), req.name, resolver));
  }

  /**
   * Maps a value or data key that fails to decrypt to FAILED_PRECONDITION (SECRET_UNDECRYPTABLE), after
   * logging it as the error it is: a sign of tampering or a lost master key. The log line carries ids only.
   */
  private async undecryptableAsRpcError<T>(ctx: HandlerContext, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (!(e instanceof SecretUndecryptableError)) throw e;
      this.log.error({ requestId: ctx.values.get(requestIdKey), rpc: `${ctx.service.typeName}/${ctx.method.name}`, problem: e.problem, ...e.details }, e.message);
      throw rpcError(Code.FailedPrecondition, 'SECRET_UNDECRYPTABLE', e.message);
    }
  }
}

function secretMessage(secret: Secret) {
  return create(SecretSchema, {
    name: secret.name,
    description: secret.description,
    version: secret.version,
    createTime: timestampFromDate(secret.createdAt),
    createdBy: secret.createdBy,
    updateTime: timestampFromDate(secret.updatedAt),
    updatedBy: secret.updatedBy,
    lastUsedTime: secret.lastUsedAt ? timestampFromDate(secret.lastUsedAt) : undefined,
  });
}
