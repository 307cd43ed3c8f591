/** A private stream's read link (drayer:<key>#r=<read key>) or its 64 read words: the follow (or a device joining) reads what it fetches. */
export function readLinkIn(text: string): boolean {
  const t = text.trim();
  return /^drayer:[^#\s]*#r=/i.test(t) || t.split(/[^A-Za-z]+/).filter(Boolean).length === 64;
}
