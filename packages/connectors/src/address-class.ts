import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** What an IP address is, as far as outbound requests care; a closed list switched by the egress guard. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link_local' | 'unspecified' | 'multicast' | 'reserved';

type Range = readonly [Exclude<AddressClass, 'public'>, string, number];

/** IPv4 special-purpose ranges (RFC 6890 and friends) that must not be reached by accident. */
const IPV4_RANGES: readonly Range[] = [
  ['unspecified', '0.0.0.0', 8],
  ['loopback', '127.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['private', '172.16.0.0', 12],
  ['private', '192.168.0.0', 16],
  ['private', '100.64.0.0', 10], // carrier-grade NAT: inside some provider's network, not the internet
  ['link_local', '169.254.0.0', 16], // includes the cloud metadata address 169.254.169.254
  ['reserved', '192.0.0.0', 24],
  ['reserved', '192.0.2.0', 24],
  ['reserved', '198.18.0.0', 15],
  ['reserved', '198.51.100.0', 24],
  ['reserved', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4], // includes the broadcast address
];

const IPV6_RANGES: readonly Range[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['private', 'fc00::', 7], // unique local
  ['private', 'fec0::', 10], // deprecated site-local, still routed by some networks
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['link_local', 'fe80::', 10],
  ['multicast', 'ff00::', 8],
  ['reserved', '100::', 64],
  ['reserved', '2001:db8::', 32],
];

const lists = new Map<Exclude<AddressClass, 'public'>, BlockList>();
for (const [family, ranges] of [['ipv4', IPV4_RANGES], ['ipv6', IPV6_RANGES]] as const) {
  for (const [addressClass, network, prefix] of ranges) {
    const list = lists.get(addressClass) ?? new BlockList();
    list.addSubnet(network, prefix, family);
    lists.set(addressClass, list);
  }
}

/**
 * Classifies an IP address. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, the
 * deprecated IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are classified by that IPv4 address,
 * since that is where the packets end up. Anything that is not an IP address is `reserved`.
 */
export function classifyAddress(address: string): AddressClass {
  const bare = address.split('%')[0]!; // a zone id (`fe80::1%eth0`) does not change the class
  if (isIPv4(bare)) return match(bare, 'ipv4');
  if (!isIPv6(bare)) return 'reserved';
  const embedded = embeddedIPv4(ipv6Words(bare));
  return embedded === undefined ? match(bare, 'ipv6') : match(embedded, 'ipv4');
}

function match(address: string, family: 'ipv4' | 'ipv6'): AddressClass {
  for (const [addressClass, list] of lists) {
    if (list.check(address, family)) return addressClass;
  }
  return 'public';
}

function embeddedIPv4(words: readonly number[]): string | undefined {
  const head = words.slice(0, 6).join(':');
  const low = (words[6]! << 16) | words[7]!;
  const isMapped = head === '0:0:0:0:0:65535';
  const isNat64 = head === '100:65435:0:0:0:0'; // 64:ff9b::/96
  const isCompatible = head === '0:0:0:0:0:0' && low > 1; // `::` and `::1` are IPv6's own
  if (!isMapped && !isNat64 && !isCompatible) return undefined;
  return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.');
}

/** The eight 16-bit words of a valid IPv6 address, `::` expanded and a dotted-quad tail converted. */
function ipv6Words(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = address.split('::') as [string, string | undefined];
  if (tail === undefined) return parse(head);
  const left = parse(head);
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
