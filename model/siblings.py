"""Executable model of DESIGN §9 (python3 model/siblings.py [TRIALS] [VARIANT]): several chains in one stream.

The owner's chain 0 holds drayer/siblings, a list of {pubkey, timestamp, from, to} (here: chain -> (from, to)).
Each device writes its own chain with the §3 rules (the Writer of shared/model/chains.py); every node keeps one
store of all chains and applies §3's rules per chain. A record of chain c != 0 is admitted only while the node's
siblings record lists c with from <= mod <= to (to = 0: open). When a node stores a new siblings record, it
drops the records its windows no longer admit and asks its sources again from the start (cursors reset), so
records a dropped one had removed come back from nodes that still hold them.

Removal ends a window at `to` = the owner's held M tip of that chain (VARIANT 'tip', the default), not at the
wall clock ('clock'): a removed device, or whoever has it, cannot add records between what the owner had seen and
the removal. Variants that remove a rule show it is needed: 'nopurge' (keep what a closed window no longer admits),
'noreset' (drop, but no re-pull), 'noadmit' (no window check at all).
Results (1000 trials each): tip 0 failures, clock 0, nopurge 819, noreset 43, noadmit 944.
Each device chain starts with a record it never deletes (drayer/device), as drayer/info anchors the owner's: the
last record of a chain could not be deleted otherwise (no signed record would cover the gap).
Checked per trial: all nodes hold the same records; each open chain equals its writer's live records; a closed
chain holds nothing above `to`, and holds every record its device wrote at or below `to` that the device neither
edited nor deleted (earlier records stay).
"""
import random, sys

VARIANT = sys.argv[2] if len(sys.argv) > 2 else 'tip'


class Clock:
    t = 0
    def now(s): s.t += 1; return s.t


class Writer:
    """One chain's writer (shared/model/chains.py's, with a shared clock for mods)."""
    def __init__(s, chain, clock, node):
        s.chain = chain; s.clock = clock; s.node = node
        s.live = {}; s.by_key = {}; s.next_id = 1; s.last_mod = 0
        s.touched = set()  # keys edited or deleted (for the "earlier ones stay" check)
    def mod(s):
        s.last_mod = max(s.clock.now(), s.last_mod + 1); return s.last_mod
    def tips(s, exclude=()):
        xs = [r for r in s.live.values() if r['id'] not in exclude]
        return max((r['id'] for r in xs), default=0), max((r['mod'] for r in xs), default=0)
    def emit(s, r):
        s.node.store_own(dict(r))
    def relink(s):
        for field, back in (('id', 'prev'), ('mod', 'prevch')):
            xs = sorted(s.live.values(), key=lambda r: r[field])
            for a, b in zip([None] + xs, xs):
                want = a[field] if a else 0
                if b[back] != want: b[back] = want; b['dirty'] = True
        for r in s.live.values():
            if r.pop('dirty', False): s.emit(r)
    def put(s, key, val):
        if key in s.by_key:
            r = s.live[s.by_key[key]]
            _, mtip = s.tips(exclude=(r['id'],))
            r.update(val=val, mod=s.mod(), prevch=mtip); s.emit(r); s.relink(); s.touched.add(key)
        else:
            idtip, mtip = s.tips()
            r = dict(chain=s.chain, id=s.next_id, key=key, val=val, mod=s.mod(), prev=idtip, prevch=mtip)
            s.next_id += 1; s.live[r['id']] = r; s.by_key[key] = r['id']; s.emit(r)
    def delete(s, key):
        s.touched.add(key)
        rid = s.by_key.pop(key); x = s.live.pop(rid)
        idtip, mtip = s.tips()
        if x['mod'] > mtip or x['id'] > idtip:
            if x['id'] > idtip:
                q = s.live.pop(idtip); del s.by_key[q['key']]
                i2, m2 = s.tips()
                q = dict(chain=s.chain, id=s.next_id, key=q['key'], val=q['val'], mod=s.mod(), prev=i2, prevch=m2)
                s.next_id += 1
            else:
                q = next(r for r in s.live.values() if r['mod'] == mtip)
                _, m2 = s.tips(exclude=(q['id'],))
                q.update(mod=s.mod(), prevch=m2)
            s.live[q['id']] = q; s.by_key[q['key']] = q['id']; s.emit(q); s.touched.add(q['key'])
        s.relink()


class Node:
    """A device or a mirror: one store of every chain, fed in local seq order."""
    def __init__(s, name):
        s.name = name; s.recs = {}; s.seq = 0; s.cursors = {}; s.resets = 0
    def windows(s):
        r = next((L for L in s.recs.values() if L['chain'] == 0 and L['key'] == 'siblings'), None)
        return r['val'] if r else {}
    def admitted(s, r):
        if r['chain'] == 0 or VARIANT == 'noadmit': return True
        w = s.windows().get(r['chain'])
        return w is not None and w[0] <= r['mod'] and (w[1] == 0 or r['mod'] <= w[1])
    def apply(s, r, own=False):
        """§3 rules 1-3 within r's chain, after §9's admission (a device's own writes need none: between
        two syncs its copy may briefly hold no siblings record, when the owner re-issued it)."""
        if not own and not s.admitted(r): return
        c = r['chain']
        mine = [L for L in s.recs.values() if L['chain'] == c]
        old = next((L for L in mine if L['id'] == r['id']), None)
        if old:
            if old['mod'] > r['mod']: return
            if old['mod'] == r['mod'] and (old['prevch'], old['prev']) <= (r['prevch'], r['prev']): return
        for L in mine:
            if L['id'] == r['id']: continue
            if L['prevch'] < r['mod'] < L['mod'] or L['prev'] < r['id'] < L['id']: return
        s.seq += 1
        if old: del s.recs[(c, old['id'])]
        s.recs[(c, r['id'])] = dict(r, lseq=s.seq)
        for L in mine:
            if L['id'] == r['id']: continue
            if r['prevch'] < L['mod'] < r['mod'] or r['prev'] < L['id'] < r['id']: s.recs.pop((c, L['id']), None)
        if c == 0 and r['key'] == 'siblings' and VARIANT != 'nopurge':
            for k in [k for k, L in s.recs.items() if not s.admitted(L)]: del s.recs[k]
            # Every source is asked again from the start: records refused under the old windows (a chain
            # not listed yet) are admitted now, and records a dropped one had removed come back.
            if VARIANT != 'noreset': s.cursors = {}; s.resets += 1
    def store_own(s, r):
        s.apply(r, own=True)
    def changes(s):
        return sorted(s.recs.values(), key=lambda r: r['lseq'])
    def pull(s, src, upto=None):
        c = s.cursors.get(src.name, 0)
        rows = [r for r in src.changes() if r['lseq'] > c]
        if upto is not None: rows = rows[:upto]
        resets = s.resets
        for r in rows:
            s.apply({k: v for k, v in r.items() if k != 'lseq'})
            if s.resets != resets: return  # a purge reset every cursor: the next pull starts from the beginning
            s.cursors[src.name] = r['lseq']

    def state(s):
        return sorted((r['chain'], r['id'], r['key'], str(r['val']), r['mod']) for r in s.recs.values())


def trial(seed):
    rnd = random.Random(seed); clock = Clock()
    owner = Node('owner'); devs = [Node('dev1'), Node('dev2')]; mirrors = [Node('m1'), Node('m2'), Node('m3')]
    nodes = [owner] + devs + mirrors
    writers = {0: Writer(0, clock, owner)}
    siblings = {}  # the owner's list
    def set_siblings():
        v = dict(siblings)
        if 'siblings' in writers[0].by_key: writers[0].put('siblings', v)
        else: writers[0].put('siblings', v)
    writers[0].put('info', 'v0')
    removed = {}
    keys = 0
    for step in range(rnd.randint(40, 160)):
        op = rnd.random()
        if op < 0.06 and len(siblings) < 2:  # pair a device
            c = len(siblings) + 1; siblings[c] = (clock.now(), 0); set_siblings()
            for _ in range(3): devs[c - 1].pull(owner)  # the new device syncs before it posts (a reset stops a pull)
            writers[c] = Writer(c, clock, devs[c - 1])
            writers[c].put('device', 'laptop')  # never deleted: an empty chain could not show a deletion
        elif op < 0.09 and any(w[1] == 0 for w in siblings.values()):  # remove one
            c = rnd.choice([c for c, w in siblings.items() if w[1] == 0])
            if VARIANT == 'clock': to = clock.now()
            else:
                held = [L['mod'] for L in owner.recs.values() if L['chain'] == c]
                to = max(held + [siblings[c][0]])
            siblings[c] = (siblings[c][0], to); removed[c] = to; set_siblings()
        else:
            c = rnd.choice(list(writers)); w = writers[c]
            ks = [k for k in w.by_key if k not in ('info', 'siblings', 'device')]
            keys += 1
            if op < 0.5 or not ks: w.put('k%d' % keys, 'v%d' % step)
            elif op < 0.75: w.put(rnd.choice(ks), 'e%d' % step)
            else: w.delete(rnd.choice(ks))
        for _ in range(rnd.randint(0, 4)):  # random partial pulls among all nodes
            a, b = rnd.sample(nodes, 2); a.pull(b, rnd.randint(1, 6))
    # drain: everyone pulls everyone, in random order, until nothing changes
    for _ in range(30):
        before = [n.state() for n in nodes]
        order = nodes[:]; rnd.shuffle(order)
        for a in order:
            for b in rnd.sample(nodes, len(nodes)):
                if a is not b: a.pull(b)
        if [n.state() for n in nodes] == before: break
    want = owner.state()
    removed_nodes = {devs[c - 1].name for c in removed}
    for n in nodes:
        if n.name in removed_nodes: continue  # a removed device's own copy keeps what it wrote since: its business
        if n.state() != want: return f"seed {seed}: {n.name} differs from owner:\n got  {n.state()}\n want {want}"
    for c, w in writers.items():
        held = {L['id']: L for L in owner.recs.values() if L['chain'] == c}
        if c not in removed:
            exp = sorted((r['id'], str(r['val']), r['mod']) for r in w.live.values())
            got = sorted((r['id'], str(r['val']), r['mod']) for r in held.values())
            if exp != got: return f"seed {seed}: open chain {c} differs from its writer:\n got  {got}\n want {exp}"
        else:
            to = removed[c]
            if any(L['mod'] > to for L in held.values()): return f"seed {seed}: chain {c} holds records after its removal"
            for r in w.live.values():
                if r['mod'] <= to and r['key'] not in w.touched and r['id'] not in held:
                    return f"seed {seed}: chain {c} lost {r['key']} (mod {r['mod']} <= to {to}), never touched by its device"
    return None


bad = 0
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
for seed in range(n):
    e = trial(seed)
    if e:
        bad += 1
        if bad <= 2: print(e)
print(f"variant {VARIANT}: failures: {bad} of {n}")
