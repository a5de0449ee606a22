import type { ConnectRouter } from '@connectrpc/connect';
import type { Router } from 'express';
import type { GrpcBidiStreamRoute } from './grpc-bidi-streams.js';

/**
 * One service as the server sees it: its RPCs, its plain HTTP routes, its readiness, and what to release
 * at shutdown. Each service package builds one from its options; the CLI composes them into targets.
 */
export interface ServiceModule {
  /** The target name, e.g. "auth". */
  readonly name: string;
  /** Fully qualified names of the Connect services it registers, for the health service. */
  readonly serviceNames: string[];
  registerRpc(router: ConnectRouter): void;
  /**
   * Bidirectional-streaming RPCs that gRPC clients are served on GrpcBidiStreams' lean path, for a method
   * whose streams stay open by the thousand (the brain's nodes). `registerRpc` still registers them: the
   * other protocols and the in-process transport go through connect-node.
   */
  readonly grpcStreams?: GrpcBidiStreamRoute[];
  registerHttp?(app: Router): void;
  /** Starts background work that calls services, once the server (and its in-process transport) listens. */
  start?(): void;
  /** Rejects when a dependency the module needs (its database, Redis) does not answer. */
  checkReady?(): Promise<void>;
  /** Releases pools and connections once the server has drained. */
  close?(): Promise<void>;
}
