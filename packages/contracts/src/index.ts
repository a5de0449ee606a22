// Generated contracts, re-exported by file. Regenerate with `npm run generate`; never edit `gen/`.
export * from './gen/foundation/common/v1/access_pb.js';
export * from './gen/foundation/common/v1/errors_pb.js';
export * from './gen/foundation/common/v1/page_pb.js';
export * from './gen/foundation/common/v1/role_pb.js';
export * from './gen/foundation/auth/v1/auth_pb.js';
export * from './gen/foundation/org/v1/org_pb.js';
export * from './gen/foundation/meta/v1/meta_pb.js';
export * from './gen/foundation/secrets/v1/secrets_pb.js';
export * from './gen/grpc/health/v1/health_pb.js';
export * from './gen/google/rpc/error_details_pb.js';
export * from './gen/foundation/workflow/v1/spec_pb.js';
export * from './gen/foundation/workflow/v1/workflow_pb.js';
export * from './gen/foundation/workflow/v1/run_pb.js';
export * from './gen/foundation/workflow/v1/run_progress_pb.js';
