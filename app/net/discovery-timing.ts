// Discovery's timings and bounds (discovery.ts): how often it announces, answers and asks.
export const MIN_ANNOUNCE_SPACING_MS = 500; // announceNow() coalesces within this window
// … widened by this per peer heard, up to the max: every node receives each full listing, so a
// busy LAN where everyone follows everyone at once (N nodes, N listings each) would otherwise
// cost every node N² packets a few seconds long
export const ANNOUNCE_SPACING_PER_PEER_MS = 40;
export const MAX_ANNOUNCE_SPACING_MS = 2000;
export const ASK_ANSWER_SPACING_MS = 1000; // per stream
// Hellos cost the asker one small packet and every node an announcement: answers are at most
// one a second however many hellos arrive (hellos are unauthenticated and cost nothing to send).
export const HELLO_ANSWER_SPACING_MS = 1000;
// The answer waits a random part of this window: 100 ms alone, wider on a crowded LAN so the
// answers (and the asker's receive buffer and rate limits) are spread, at most 1 s.
export const HELLO_JITTER_MIN_MS = 100;
export const HELLO_JITTER_PER_PEER_MS = 10;
export const HELLO_JITTER_MAX_MS = 1000;
/** Our own hellos: at most one a second; one unanswered hello (lost, say on Wi-Fi) is repeated once. */
export const HELLO_SPACING_MS = 1000;
/** How often the LAN addresses are compared (os.networkInterfaces(): one getifaddrs call). */
export const NETWORK_CHECK_MS = 3000;
export const RATE_BUCKETS_MAX = 1024;
export const WARN_REPEAT_MS = 60_000;
/** A stream heard at an older M-tip than ours is announced after a random part of this (others may first). */
export const NEWER_DELAY_MIN_MS = 100;
export const NEWER_DELAY_MAX_MS = 600;
export const NEWER_SPACING_MS = 1000;
/** A lost full listing is asked for (a targeted hello) after a random part of this, once per peer per interval. */
export const FULL_ASK_DELAY_MIN_MS = 200;
export const FULL_ASK_DELAY_MAX_MS = 1000;
