// Hypercore 10 ships no types; only what the benches use.
declare module 'hypercore' {
  interface Download {
    done(): Promise<void>;
  }
  interface ReplicationStream {
    pipe<T>(dest: T): T;
    on(ev: string, fn: (...a: unknown[]) => void): this;
    destroy(err?: Error): void;
  }
  class Hypercore {
    constructor(storage: string, key?: Uint8Array, opts?: Record<string, unknown>);
    readonly key: Uint8Array;
    readonly length: number;
    readonly contiguousLength: number;
    ready(): Promise<void>;
    append(blocks: Uint8Array | Uint8Array[]): Promise<{ length: number; byteLength: number }>;
    get(index: number, opts?: Record<string, unknown>): Promise<Uint8Array | null>;
    download(range?: { start?: number; end?: number }): Download;
    replicate(isInitiator: boolean, opts?: Record<string, unknown>): ReplicationStream;
    update(opts?: Record<string, unknown>): Promise<boolean>;
    close(): Promise<void>;
  }
  export default Hypercore;
}
