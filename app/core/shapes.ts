// Plain data shapes that stream content and the API both speak, kept here (types only) so the
// engine's lower layers and the API types (app/node/api.ts, which the renderer reads) share them.

/** A server the stream's owner names as always-on (drayer/primaryServers). */
export interface PrimaryServer {
  type: 'http';
  url: string;
}

/** A file of a folder on the person's computer: its stream path, size, and content hash (core/site.ts). */
export interface FolderFile {
  path: string;
  size: number;
  hash: string;
}
export interface FolderDiff {
  add: string[];
  change: string[];
  remove: string[];
  unchanged: number;
}

/** A port forwarded by the router: this computer's port and the one the internet sees. */
export interface MappedPort {
  protocol: 'TCP' | 'UDP';
  port: number;
  externalPort: number;
}

/** Router port mapping (app/net/portmap.ts), as the API reports it while the node is in the DHT. */
export type PortMapStatus =
  | { state: 'searching' }
  | { state: 'mapped'; via: 'UPnP' | 'NAT-PMP' | 'PCP'; router: string; externalAddress: string | null; ports: MappedPort[]; leaseS: number; renewals: number }
  | { state: 'no-router'; message: string }
  | { state: 'refused'; via: 'UPnP' | 'NAT-PMP' | 'PCP'; router: string; message: string };

/** The reactions offered on a post (issue 21; app/store/talk.ts): others found in a stream count nowhere. */
export const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;
