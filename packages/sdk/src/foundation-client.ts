import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import {
  AuthService,
  ExecutorService,
  MetaService,
  OrgService,
  PairingService,
  RunService,
  SecretsService,
  SessionService,
  WorkflowService,
} from '@foundation/contracts';
import { ClientSession } from './session.js';

export interface FoundationClientOptions {
  /** Where the platform (or its Envoy edge) answers, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** `grpc` (HTTP/2) or `connect` (HTTP/1.1, the default; works through any proxy). */
  protocol?: 'grpc' | 'connect';
  /** An API token (`fdn_…`) for programs; without one, call `login` or `signUp`. */
  apiToken?: string;
  /** The organization tenant RPCs act on (the X-Org-Id header); change it with `useOrg`. */
  orgId?: string;
  /** Refresh the access token when it expires within this margin (default 30 s). */
  refreshMarginMs?: number;
  /** Replaces the Node transports, e.g. with `@connectrpc/connect-web` in a browser. */
  createTransport?: (options: { baseUrl: string; interceptors: Interceptor[] }) => Transport;
}

/**
 * The Foundation SDK: typed clients of every service over one transport that adds the credential and
 * X-Org-Id to each call, keeps the refresh cookie, refreshes the access token before it expires, and
 * retries a call once after a refresh when the server says the token expired.
 */
export class FoundationClient {
  readonly auth: Client<typeof AuthService>;
  readonly org: Client<typeof OrgService>;
  readonly meta: Client<typeof MetaService>;
  readonly secrets: Client<typeof SecretsService>;
  readonly workflows: Client<typeof WorkflowService>;
  readonly runs: Client<typeof RunService>;
  /** Pairing codes for nodes, and `Pair` for a node-agent. */
  readonly pairing: Client<typeof PairingService>;
  /** The organization's nodes. */
  readonly executors: Client<typeof ExecutorService>;
  /** Coding-agent sessions on the organization's nodes. */
  readonly sessions: Client<typeof SessionService>;
  private readonly session: ClientSession;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly options: FoundationClientOptions) {
    this.session = new ClientSession(options.apiToken);
    this.session.orgId = options.orgId;
    const interceptors = [this.credentialInterceptor()];
    const transport = options.createTransport
      ? options.createTransport({ baseUrl: options.baseUrl, interceptors })
      : options.protocol === 'grpc'
        ? createGrpcTransport({ baseUrl: options.baseUrl, interceptors })
        : createConnectTransport({ baseUrl: options.baseUrl, httpVersion: '1.1', interceptors });
    this.auth = createClient(AuthService, transport);
    this.org = createClient(OrgService, transport);
    this.meta = createClient(MetaService, transport);
    this.secrets = createClient(SecretsService, transport);
    this.workflows = createClient(WorkflowService, transport);
    this.runs = createClient(RunService, transport);
    this.pairing = createClient(PairingService, transport);
    this.executors = createClient(ExecutorService, transport);
    this.sessions = createClient(SessionService, transport);
  }

  async signUp(email: string, password: string, displayName: string) {
    const res = await this.auth.signUp({ email, password, displayName });
    this.session.accept(res.grant);
    return res.user!;
  }

  async login(email: string, password: string) {
    const res = await this.auth.login({ email, password });
    this.session.accept(res.grant);
    return res.user!;
  }

  async logout(): Promise<void> {
    await this.auth.logout({});
    this.session.clear();
  }

  /** Tenant RPCs from now on act on this organization. */
  useOrg(orgId: string | undefined): void {
    this.session.orgId = orgId;
  }

  /** Exchanges the refresh token for a new access token; concurrent callers share one exchange. */
  refresh(): Promise<void> {
    this.refreshing ??= this.auth
      .refresh({})
      .then((res) => this.session.accept(res.grant))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private credentialInterceptor(): Interceptor {
    return (next) => async (req) => {
      const isRefresh = req.method.parent.typeName === AuthService.typeName && req.method.name === 'Refresh';
      const isSessionCall = req.method.parent.typeName === AuthService.typeName && ['Refresh', 'Logout'].includes(req.method.name);
      if (isSessionCall && this.session.refreshToken) req.header.set('cookie', `foundation_refresh=${this.session.refreshToken}`);
      if (!isSessionCall && this.session.shouldRefresh(Date.now(), this.options.refreshMarginMs ?? 30_000)) await this.refresh();
      const send = async () => {
        if (this.session.bearer && !isRefresh) req.header.set('authorization', `Bearer ${this.session.bearer}`);
        if (this.session.orgId && !req.header.has('x-org-id')) req.header.set('x-org-id', this.session.orgId);
        const res = await next(req);
        this.session.acceptSetCookie(res.header.get('set-cookie'));
        return res;
      };
      try {
        return await send();
      } catch (e) {
        const error = ConnectError.from(e);
        this.session.acceptSetCookie(error.metadata.get('set-cookie'));
        // Only a unary call can be sent again: a stream's request body is already consumed.
        if (error.code !== Code.Unauthenticated || isSessionCall || req.stream || !this.session.canRefresh()) throw e;
        await this.refresh();
        return send();
      }
    };
  }
}
