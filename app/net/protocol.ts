// Names both ends of the sync protocol share: the client (sync.ts) and the LAN server (server/).

/**
 * On every answer: a Drayer server speaks Drayer's sync protocol (/changes). The original Drayer
 * answers HTTP 500 for a path it does not know, so a follower tells "an original node: fall back
 * to newRecords" (no header) from "a Drayer node failing" (header) by it.
 */
export const DRAYER_SYNC_HEADER = 'Drayer-Sync';
