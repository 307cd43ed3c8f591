// Comparing a stream's fingerprint words with the ones someone read out or sent: word by word, in
// order, so a person sees exactly where two copies differ. Pure, for the Key & verify dialog.

export interface WordPair {
  yours: string;
  /** what they gave at this place, or null when they have not got this far */
  theirs: string | null;
  /** same word; a word still being typed that begins the right one is "pending", not wrong */
  state: 'match' | 'differ' | 'pending' | 'missing';
}

export interface Comparison {
  pairs: WordPair[];
  /** how many words they gave (up to the length of yours) */
  given: number;
  /** empty: nothing typed; partial: all so far match, some to go; match: every word; mismatch: any differs */
  verdict: 'empty' | 'partial' | 'match' | 'mismatch';
}

/** Words as people write them: any run of letters, case ignored (commas, new lines, numbers between are fine). */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/\p{L}+/gu) ?? [];
}

export function compareWords(yours: readonly string[], text: string): Comparison {
  const theirs = wordsOf(text);
  const mine = yours.map((w) => w.toLowerCase());
  // The last word is still being typed unless something follows it.
  const typing = theirs.length > 0 && /\p{L}$/u.test(text);
  const pairs: WordPair[] = mine.map((w, i) => {
    const t = theirs[i];
    if (t === undefined) return { yours: yours[i]!, theirs: null, state: 'missing' };
    const state = t === w ? 'match' : typing && i === theirs.length - 1 && w.startsWith(t) ? 'pending' : 'differ';
    return { yours: yours[i]!, theirs: t, state };
  });
  const given = Math.min(theirs.length, mine.length);
  const verdict = given === 0 ? 'empty' : pairs.some((p) => p.state === 'differ') ? 'mismatch' : pairs.every((p) => p.state === 'match') ? 'match' : 'partial';
  return { pairs, given, verdict };
}
