import { getOption, type DescMethod } from '@bufbuild/protobuf';
import { Access, access } from '@foundation/contracts';

/**
 * The access an RPC declares with `option (foundation.common.v1.access)`. The kit refuses to serve a
 * method that declares none (see `assertAccessDeclared`), so a new RPC is never public by accident.
 *
 * Read once per method and remembered: `getOption` decodes the option from the descriptor on every call
 * (tens of µs), and the interceptors ask on every request.
 */
export function methodAccess(method: DescMethod): Access {
  let declared = declaredAccess.get(method);
  if (declared === undefined) {
    declared = PUBLIC_PROTOCOL_SERVICES.has(method.parent.typeName) ? Access.PUBLIC : getOption(method, access);
    declaredAccess.set(method, declared);
  }
  return declared;
}

const declaredAccess = new WeakMap<DescMethod, Access>();

/** Standard services served by every process, whose protos cannot carry our option. */
const PUBLIC_PROTOCOL_SERVICES = new Set(['grpc.health.v1.Health']);

export function assertAccessDeclared(method: DescMethod): void {
  if (methodAccess(method) === Access.UNSPECIFIED) {
    throw new Error(`${method.parent.typeName}.${method.name} declares no (foundation.common.v1.access) option`);
  }
}
