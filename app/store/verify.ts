// Checking a whole stream on one thread (Stream.verify: the reference the parallel check in
// verify-parallel.ts must equal, problem for problem), and the report both end with.
import { checkRecord } from '../core/record.js';
import { valueProblem } from '../core/msgpack.js';
import { admits, idOutsideRange } from '../core/siblings.js';
import { heldWindows, NOT_A_DEVICE } from './apply.js';
import { idChainBroken, linkIsMissing, mChainBroken, modNotUnique } from './chains.js';
import { rowByKey, rowToRecord, type Handle, type Row } from './schema.js';

export interface Problem {
  id: number;
  what: string;
}

export interface VerifyReport {
  /** no problem, and not incomplete */
  intact: boolean;
  records: number;
  metaOnly: number;
  /** damage: bad signatures or values, links that contradict held records, a writer's missing records */
  problems: Problem[];
  /** worth saying, not damage: e.g. a stream with no name record (streams made by the original Drayer) */
  notes?: string[];
  partial: boolean;
  /**
   * A mirror still being synced, not a damaged one: `missing` chain links point to records not
   * fetched yet, and `unfinished` names the peers whose last pull stopped before the end. A sync
   * completes it.
   */
  incomplete?: { missing: number; unfinished: string[] };
}

/** The end of a verify report, shared with verifyStreamParallel. */
export function verifyReport(parts: {
  records: number;
  metaOnly: number;
  problems: Problem[];
  partial: boolean;
  missing: number;
  unfinished: string[];
  named: boolean;
}): VerifyReport {
  const { missing, unfinished, named, ...rest } = parts;
  const incomplete = missing > 0 || unfinished.length > 0 ? { missing, unfinished } : undefined;
  // No drayer/info is no damage: the original Drayer never wrote one, and every signature and link still holds.
  const notes = !named && parts.records > 0 ? [NO_NAME_NOTE] : [];
  return { intact: parts.problems.length === 0 && !incomplete, ...rest, ...(incomplete ? { incomplete } : {}), ...(notes.length ? { notes } : {}) };
}

/** verify's note for a stream without drayer/info. */
export const NO_NAME_NOTE = 'no name record (drayer/info), as in streams made by the original Drayer: it is shown by a name made from its key';

/** What one check is of: a partial copy's links are not checked; a mirror may miss records (linkIsMissing). */
export interface VerifyScope {
  partial: boolean;
  mirror: boolean;
  maxProblems: number;
  /** the peers whose pull into this mirror has not drained (reported as incomplete) */
  unfinished: string[];
}

/** Check every signature, every value hash, and both chains' linkage; report each problem. */
export function verifyStream(h: Handle, c: VerifyScope): VerifyReport {
  const problems: Problem[] = [];
  const add = (id: number, what: string) => {
    if (problems.length < c.maxProblems) problems.push({ id, what });
  };
  const { partial, mirror } = c;
  let missing = 0;
  let records = 0;
  let metaOnly = 0;
  let lastId = 0;
  let chain: Buffer | null = null;
  let mods: [number, number, number][] = []; // [mod, prevch, id] of the chain being read
  let copied = mirror; // a device's chain is a copy even in the owner's file: a link may point to a record not pulled yet
  const windows = heldWindows(h);
  // The M chain of one chain, by mod (each chain, the owner's and each device's, has its own: §9).
  const checkMods = () => {
    mods.sort((a, b) => a[0] - b[0]);
    let lastMod = 0;
    for (const [mod, prevch, id] of mods) {
      if (!partial && prevch !== lastMod) {
        if (linkIsMissing(prevch, lastMod, copied)) missing++;
        else add(id, mChainBroken(id, prevch, lastMod));
      }
      if (mod === lastMod) add(id, modNotUnique(id, mod));
      lastMod = mod;
    }
    mods = [];
  };
  for (const row of h.db.prepare('SELECT * FROM records ORDER BY chain, id').iterate() as IterableIterator<Row>) {
    records++;
    if (!chain || !chain.equals(row.chain)) {
      if (chain) checkMods();
      chain = row.chain;
      copied = mirror || !row.chain.equals(h.chain);
      lastId = 0;
    }
    const r = rowToRecord(row);
    if (r.val === null) metaOnly++;
    // a signature says who wrote a value, not that it decodes as its type requires
    const own = row.chain.equals(h.chain);
    const why =
      checkRecord(r, h.publicKey, true) ??
      (own ? null : admits(windows, r.chain, r.mod) ? idOutsideRange(r.chain, r.id) : NOT_A_DEVICE) ??
      valueProblem(r.type, r.key, r.val);
    if (why) add(r.id, `record ${r.id} (${r.type}/${r.key}): ${why}`);
    if (!partial && r.prev !== lastId) {
      if (linkIsMissing(r.prev, lastId, copied)) missing++;
      else add(r.id, idChainBroken(r.id, r.prev, lastId));
    }
    lastId = r.id;
    mods.push([r.mod, r.prevch, r.id]);
  }
  checkMods();
  if (records === 0) add(0, 'the stream holds no records (not even drayer/info): it has never been synced');
  const named = rowByKey(h, 'drayer', 'info') !== undefined;
  return verifyReport({ records, metaOnly, problems, partial, missing, unfinished: mirror ? c.unfinished : [], named });
}
