// What names a stream on the Mainline DHT (its infohash, the original Drayer's) and the nodes
// to join through: plain functions, apart from dht.ts so that reading them does not load the DHT.
import { blake2b256 } from '../core/crypto.js';
import { DrayerError } from '../core/errors.js';

/** The well-known public routers a node joins through when it is given none. */
export const PUBLIC_BOOTSTRAP = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'];

/** The stream's infohash, the original's: the first 20 bytes of BLAKE2b-256(BLAKE2b-256(public key)). */
export function dhtInfoHash(publicKey: Uint8Array): Buffer {
  if (publicKey.length !== 32) throw new DrayerError('INVALID_ARGUMENT', 'A stream key is 32 bytes.');
  return Buffer.from(blake2b256(blake2b256(publicKey)).subarray(0, 20));
}

/** Parse `HOST:PORT[,HOST:PORT…]`, saying which entry is wrong. */
export function parseBootstrap(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535)
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `"${item}" is not a DHT node address: write HOST:PORT (an IPv4 address or a host name), several separated by commas.`,
      );
    out.push(`${m[1]}:${port}`);
  }
  if (!out.length) throw new DrayerError('INVALID_ARGUMENT', 'No DHT node address given: write HOST:PORT, several separated by commas.');
  return out;
}
