// Which peer addresses count as "on the local network" for the LAN-only sync mode. Kept simple
// and safe: an IP literal is judged by its range; a name is local only when it is localhost or
// ends in .local (mDNS); any other name could resolve anywhere, so it is not LAN (nothing is
// resolved here).
import { BlockList, isIP } from 'node:net';

function ipv4Lan(a: string): boolean {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return false;
  const [x, y] = p as [number, number, number, number];
  return (
    x === 127 || // loopback
    x === 10 || // RFC 1918
    (x === 172 && y >= 16 && y <= 31) ||
    (x === 192 && y === 168) ||
    (x === 100 && y >= 64 && y <= 127) || // CGNAT, 100.64/10
    (x === 169 && y === 254)
  ); // link-local
}

function ipv6Lan(a: string): boolean {
  const s = a.toLowerCase().split('%')[0]!; // a zone index (fe80::1%eth0)
  if (s === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (mapped) return ipv4Lan(mapped[1]!);
  if (s.startsWith('::')) return false; // unspecified, other embedded forms
  const first = parseInt(s.split(':')[0]!, 16);
  if (!Number.isFinite(first)) return false;
  return (
    (first & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (first & 0xffc0) === 0xfe80
  ); // fe80::/10 link-local
}

/** A host (as in a URL, IPv6 with or without brackets) on the local network. */
export function isLanHost(host: string): boolean {
  const h = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  if (!h) return false;
  const v = isIP(h.split('%')[0]!);
  if (v === 4) return ipv4Lan(h);
  if (v === 6) return ipv6Lan(h);
  return h === 'localhost' || (h.endsWith('.local') && h.length > '.local'.length);
}

/** A peer URL whose host is on the local network; false for anything that does not parse. */
export function isLanUrl(url: string): boolean {
  try {
    return isLanHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

// Cloud metadata services (issue 14.5): they answer any process on the machine with its
// credentials, so no address a stream or a peer names may lead there, in any sync mode. The
// usual list (the addresses SSRF guards block): AWS (IMDS, its IPv6 twin, ECS/EKS credential
// agents), GCP, Azure (IMDS and its WireServer), Alibaba, Oracle, Tencent, Scaleway, OpenStack
// and DigitalOcean (which share 169.254.169.254).
const METADATA_ADDRESSES = [
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  '100.100.100.200',
  '192.0.0.192',
  '168.63.129.16',
  '169.254.0.23',
  '169.254.42.42',
  'fd00:ec2::254',
  'fd00:ec2::23',
  '64:ff9b::a9fe:a9fe',
];
const METADATA_V4 = new Set(METADATA_ADDRESSES.filter((a) => isIP(a) === 4));
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.azure.internal',
]);
// Made on first use: node's first isIP of an IPv6 address builds its big regex (~10 ms), which a
// node's start-up does not need.
let metadataBlock: BlockList | undefined;
function metadataList(): BlockList {
  if (metadataBlock) return metadataBlock;
  metadataBlock = new BlockList();
  for (const a of METADATA_ADDRESSES) metadataBlock.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  return metadataBlock;
}

/**
 * A cloud metadata service's address or name (IPv4-mapped IPv6 forms included). `host` as in a
 * URL's hostname (IPv6 with or without brackets) or a resolved address.
 */
export function isMetadataHost(host: string): boolean {
  const h = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase()
    .split('%')[0]!;
  const v = isIP(h);
  if (v === 0) return METADATA_NAMES.has(h);
  // isIP takes only the canonical dotted form, so a set answers for IPv4: BlockList.check cost
  // ~10 µs a call (a third of it in isIPv6), and every pull and every Nearby lookup asks
  if (v === 4) return METADATA_V4.has(h);
  try {
    return metadataList().check(h, v === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

/**
 * Why a client must not connect to `host` (a URL's hostname, or an address a name resolved to),
 * or undefined when it may: never a metadata service; when `lanOnly`, only the local network.
 */
export function refusedHost(host: string, lanOnly: boolean): string | undefined {
  if (isMetadataHost(host)) return 'a cloud metadata service, which Drayer never contacts';
  if (lanOnly && !isLanHost(host)) return 'not on the local network, and sync is LAN only';
  return undefined;
}
