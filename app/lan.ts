// Which peer addresses count as "on the local network" for the LAN-only sync mode. Kept simple
// and safe: an IP literal is judged by its range; a name is local only when it is localhost or
// ends in .local (mDNS); any other name could resolve anywhere, so it is not LAN (nothing is
// resolved here).
import { isIP } from 'node:net';

function ipv4Lan(a: string): boolean {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return false;
  const [x, y] = p as [number, number, number, number];
  return x === 127 // loopback
    || x === 10 // RFC 1918
    || (x === 172 && y >= 16 && y <= 31)
    || (x === 192 && y === 168)
    || (x === 100 && y >= 64 && y <= 127) // CGNAT, 100.64/10
    || (x === 169 && y === 254); // link-local
}

function ipv6Lan(a: string): boolean {
  const s = a.toLowerCase().split('%')[0]!; // a zone index (fe80::1%eth0)
  if (s === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (mapped) return ipv4Lan(mapped[1]!);
  if (s.startsWith('::')) return false; // unspecified, other embedded forms
  const first = parseInt(s.split(':')[0]!, 16);
  if (!Number.isFinite(first)) return false;
  return (first & 0xfe00) === 0xfc00 // fc00::/7 unique local
    || (first & 0xffc0) === 0xfe80; // fe80::/10 link-local
}

/** A host (as in a URL, IPv6 with or without brackets) on the local network. */
export function isLanHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
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
