import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyAddress, type AddressClass } from './address-class.js';
import { ConnectorNetworkError, EgressDeniedError } from './connector-errors.js';

/**
 * Where connector actions may connect. Public addresses are always allowed; the flags open the internal
 * ranges a deployment deliberately wants reachable (tests allow loopback).
 */
export interface EgressPolicy {
  /** 127.0.0.0/8 and ::1. */
  allowLoopback: boolean;
  /** 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7. Link-local is not included. */
  allowPrivate: boolean;
  /**
   * Hostnames (or IP literals) exempt from the loopback, private and link-local checks, matched exactly and
   * case-insensitively: a named internal service, without opening whole ranges. Unspecified, multicast and
   * reserved addresses stay refused.
   */
  allowedHosts?: readonly string[];
}

export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * A URL together with the addresses the guard checked. Connecting to exactly these addresses (never
 * resolving the name again) is what makes a DNS answer that changes between check and connect harmless.
 */
export interface VettedTarget {
  url: URL;
  addresses: readonly VettedAddress[];
}

/**
 * Checks `url` against `policy` before any connection: http(s) only, then every address the hostname
 * resolves to must be allowed (one bad address refuses the whole name, so a host cannot smuggle an
 * internal address next to a public one). `target` is how errors name the destination.
 */
export async function vetEgressTarget(url: URL, policy: EgressPolicy, target: string): Promise<VettedTarget> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressDeniedError(target, `scheme ${url.protocol} is not allowed, only http: and https:`);
  }
  const hostname = bareHostname(url.hostname);
  const exempt = (policy.allowedHosts ?? []).some((host) => bareHostname(host) === hostname);
  const addresses = await resolve(hostname, target);
  for (const { address } of addresses) {
    const why = refusal(classifyAddress(address), exempt, policy);
    if (why !== undefined) {
      throw new EgressDeniedError(target, `${isIP(hostname) === 0 ? 'resolves to' : 'is'} ${why}`);
    }
  }
  return { url, addresses };
}

/** Why an address of this class is refused, or undefined when it is allowed. */
function refusal(addressClass: AddressClass, exempt: boolean, policy: EgressPolicy): string | undefined {
  switch (addressClass) {
    case 'public':
      return undefined;
    case 'loopback':
      return policy.allowLoopback || exempt ? undefined : 'a loopback address';
    case 'private':
      return policy.allowPrivate || exempt ? undefined : 'a private address';
    case 'link_local':
      return exempt ? undefined : 'a link-local address';
    case 'unspecified':
      return 'an unspecified address';
    case 'multicast':
      return 'a multicast address';
    case 'reserved':
      return 'a reserved address';
    default:
      return assertNever(addressClass);
  }
}

async function resolve(hostname: string, target: string): Promise<VettedAddress[]> {
  const family = isIP(hostname);
  if (family !== 0) return [{ address: hostname, family: family as 4 | 6 }];
  try {
    const answers = await lookup(hostname, { all: true, verbatim: true });
    if (answers.length === 0) throw new ConnectorNetworkError(target, 'ENOTFOUND', false);
    return answers.map(({ address, family: f }) => ({ address, family: f === 6 ? 6 : 4 }));
  } catch (error) {
    if (error instanceof ConnectorNetworkError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new ConnectorNetworkError(target, code, code === 'EAI_AGAIN');
  }
}

/** Lower-case, without IPv6 brackets or a trailing root dot, so `LOCALHOST.` and `localhost` compare equal. */
function bareHostname(host: string): string {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

function assertNever(value: never): never {
  throw new Error(`unhandled address class ${String(value)}`);
}
