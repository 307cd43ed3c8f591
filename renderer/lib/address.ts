// Addresses people type for another computer (Follow a stream, joining a stream as a device).

/** An address as people (and Share) write it, "192.168.1.20:15723", means http; empty stays empty. */
export function httpAddress(text: string): string {
  const t = text.trim();
  return t && !/^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? `http://${t}` : t;
}
