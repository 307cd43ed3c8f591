// The DHT options shared by `drayer serve` and `drayer clone`: --dht-bootstrap HOST:PORT[,…]
// (replaces the public routers) and --dht-port N. `serve` takes them without --dht too: they then
// say how to join when the node's setting ("Reach beyond this network") turns the DHT on.
import { isDrayerError } from '../core/errors.js';
import { parseBootstrap } from '../net/dht-keys.js';
import { commands, UsageError } from './table.js';

export const DHT_OPTIONS = {
  dht: { type: 'boolean' },
  'dht-bootstrap': { type: 'string' },
  'dht-port': { type: 'string' },
} as const;

/** The bootstrap list and port given, checked; undefined for what was not given. */
export function dhtOptions(opts: Record<string, unknown>, cmd: string, alone = false): { bootstrap?: string[]; port?: number } {
  const out: { bootstrap?: string[]; port?: number } = {};
  if (opts.dht !== true) {
    if (opts['dht-announce-all'] !== undefined) throw new UsageError('--dht-announce-all goes with --dht.', commands.get(cmd));
    if (!alone && (opts['dht-bootstrap'] !== undefined || opts['dht-port'] !== undefined))
      throw new UsageError('--dht-bootstrap and --dht-port go with --dht.', commands.get(cmd));
  }
  if (typeof opts['dht-bootstrap'] === 'string') {
    try {
      out.bootstrap = parseBootstrap(opts['dht-bootstrap']);
    } catch (e) {
      if (isDrayerError(e)) throw new UsageError(`--dht-bootstrap: ${e.message}`, commands.get(cmd));
      throw e;
    }
  }
  const p = opts['dht-port'];
  if (p !== undefined) {
    const n = Number(p);
    if (typeof p !== 'string' || !/^\d+$/.test(p.trim()) || n > 65535)
      throw new UsageError(`--dht-port needs a UDP port number (0–65535; 0 picks a free one), not ${String(p) || 'nothing'}.`, commands.get(cmd));
    out.port = n;
  }
  return out;
}
