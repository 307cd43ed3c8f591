// The part of bittorrent-dht (plain JavaScript, no types of its own) that app/net/dht.ts uses.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';
  export interface DhtPeer {
    host: string;
    port: number;
  }
  export interface DhtContact extends DhtPeer {
    id?: Buffer;
  }
  export interface DhtOptions {
    bootstrap?: string[] | false;
    host?: string | false;
    concurrency?: number;
    timeout?: number;
    maxTables?: number;
    maxValues?: number;
    maxPeers?: number;
    maxAge?: number;
    timeBucketOutdated?: number;
  }
  export default class DHT extends EventEmitter {
    constructor(opts?: DhtOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly nodes: { toArray(): DhtContact[]; count(): number };
    listen(port: number, host: string, cb?: () => void): void;
    address(): { address: string; port: number; family: string };
    addNode(node: DhtContact): void;
    announce(infoHash: Buffer, port: number, cb?: (err: Error | null) => void): void;
    lookup(infoHash: Buffer, cb?: (err: Error | null, nodes?: number) => void): () => void;
    toJSON(): { nodes: DhtContact[]; values: unknown };
    destroy(cb?: () => void): void;
  }
}
