// The reads the UI makes before Home can paint, answered in one GET /api/boot (webui.ts) that the
// page asks for from its HTML head, while its scripts load: the first paint then waits for no
// API round trip. The page's transport (renderer/api/http.ts) answers each of these calls, once,
// from that reply when the call's method and argument are these; any other call goes out as usual.
import type { Method } from './api.js';

export interface BootCall {
  method: Method;
  arg: unknown;
}

/** Home's first page of posts holds this many (renderer/stores/timeline.ts PAGE). */
export const BOOT_TIMELINE_LIMIT = 40;

export const BOOT_CALLS: readonly BootCall[] = [
  { method: 'listStreams', arg: undefined },
  { method: 'timeline', arg: { limit: BOOT_TIMELINE_LIMIT } },
  { method: 'getSettings', arg: undefined },
  { method: 'status', arg: undefined },
  { method: 'nearby', arg: undefined },
];

/** How a call is matched with the boot reply: its method and its argument as the transport sends it. */
export const bootKey = (method: string, arg: unknown): string => `${method} ${JSON.stringify(arg ?? {})}`;

/** GET /api/boot's reply: each call's envelope by bootKey, and how many changes the node had told of then. */
export interface BootReply {
  changes: number;
  results: Record<string, unknown>;
}
