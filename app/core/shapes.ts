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
