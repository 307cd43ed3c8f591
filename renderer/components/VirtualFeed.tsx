// A windowed list on the page's own scroll: only the items near the viewport are in the DOM.
// Heights are measured as items render (ResizeObserver) and estimated until then; the items sit
// in normal flow between two spacers, so the browser's scroll anchoring keeps what is read in
// place when an item above changes height. J/K move between items.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';

export interface VirtualFeedProps {
  ids: string[];
  render: (id: string, index: number) => ReactNode;
  /** estimated height of an item not measured yet, gap included */
  estimate?: number;
  /** pixels rendered beyond the viewport, above and below */
  overscan?: number;
  /** called when the last items come near the viewport */
  onNearEnd?: () => void;
  label: string;
  busy?: boolean;
  /** J/K navigation on the window (off where another list owns the keys) */
  keys?: boolean;
  /** called when an item has been in view (half of it, or half the viewport), once per mount of the item */
  onSeen?: (id: string) => void;
}

/** Index of the first offset > y (offsets ascending, offsets[i] = top of item i). */
export function indexAt(offsets: Float64Array | number[], count: number, y: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The page's sticky header covers this much of the top of the window. */
function headerHeight(): number {
  const h = document.querySelector('.page-head');
  return h ? h.getBoundingClientRect().height : 0;
}

function typing(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (el as HTMLElement).isContentEditable;
}

/** Each id once, first place kept: two items under one React key leave stale cards behind (issue 13). */
export function uniqueIds(ids: string[]): string[] {
  const seen = new Set<string>();
  const out = ids.filter((id) => !seen.has(id) && (seen.add(id), true));
  return out.length === ids.length ? ids : out;
}

export function VirtualFeed({ ids: given, render, estimate = 180, overscan = 900, onNearEnd, label, busy, keys = true, onSeen }: VirtualFeedProps) {
  const ids = useMemo(() => uniqueIds(given), [given]);
  const list = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [version, setVersion] = useState(0);
  const [range, setRange] = useState({ start: 0, end: Math.min(ids.length, 12) });
  const nearEnd = useRef(onNearEnd);
  nearEnd.current = onNearEnd;

  const offsets = useMemo(() => {
    const o = new Float64Array(ids.length + 1);
    for (let i = 0; i < ids.length; i++) o[i + 1] = o[i]! + (heights.current.get(ids[i]!) ?? estimate);
    return o;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids, version, estimate]);

  const compute = useCallback(() => {
    const el = list.current;
    if (!el) return;
    const top = el.getBoundingClientRect().top; // the list's top, relative to the viewport
    const from = -top - overscan;
    const to = -top + window.innerHeight + overscan;
    const start = Math.max(0, indexAt(offsets, ids.length, from) - 1);
    const end = Math.min(ids.length, Math.max(start + 1, indexAt(offsets, ids.length, to)));
    setRange((r) => (r.start === start && r.end === end ? r : { start, end }));
    if (end >= ids.length - 3) nearEnd.current?.();
  }, [offsets, ids.length, overscan]);

  useLayoutEffect(compute, [compute]);

  useEffect(() => {
    let frame = 0;
    const on = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        compute();
      });
    };
    window.addEventListener('scroll', on, { passive: true });
    window.addEventListener('resize', on);
    return () => {
      window.removeEventListener('scroll', on);
      window.removeEventListener('resize', on);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [compute]);

  // measure what is rendered; a changed height re-lays the window out once per frame
  const pending = useRef(0);
  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            let changed = false;
            for (const e of entries) {
              const id = (e.target as HTMLElement).dataset.vid;
              if (!id) continue;
              const h = (e.target as HTMLElement).offsetHeight;
              const was = heights.current.get(id);
              if (h > 0 && was !== h) {
                heights.current.set(id, h);
                // an item's first size is kept for the next layout of the window, as a height read
                // when it mounted was (without laying the window out again for it); a change re-lays
                changed ||= was !== undefined;
              }
            }
            if (changed && !pending.current) {
              pending.current = requestAnimationFrame(() => {
                pending.current = 0;
                setVersion((v) => v + 1);
              });
            }
          }),
    [],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);
  // what the reader has had in view (unread marks): half the item, or half the viewport for a tall one
  const seenRef = useRef(onSeen);
  seenRef.current = onSeen;
  const seer = useMemo(
    () =>
      typeof IntersectionObserver === 'undefined'
        ? null
        : new IntersectionObserver(
            (entries) => {
              for (const e of entries) {
                const id = (e.target as HTMLElement).dataset.vid;
                if (id && e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= window.innerHeight / 2)) seenRef.current?.(id);
              }
            },
            { threshold: [0, 0.25, 0.5, 0.75, 1] },
          ),
    [],
  );
  useEffect(() => () => seer?.disconnect(), [seer]);
  const measure = useCallback(
    (el: HTMLDivElement | null) => {
      if (el) seer?.observe(el);
      if (!el) return;
      // Measured by the observer, after the frame's own layout: reading the height here, as the item
      // mounts, forced a layout per new item (a fifth of a 1,000-reply scroll's script time).
      if (observer) observer.observe(el);
      else if (!heights.current.has(el.dataset.vid!) && el.offsetHeight > 0) heights.current.set(el.dataset.vid!, el.offsetHeight);
    },
    [observer, seer],
  );

  // J/K: the next or previous item, scrolled under the header and focused
  const focusIndex = useRef(-1);
  useEffect(() => {
    if (!keys) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || (e.key !== 'j' && e.key !== 'k') || typing(document.activeElement) || document.querySelector('dialog[open]'))
        return;
      const el = list.current;
      if (!el || ids.length === 0) return;
      e.preventDefault();
      const focused = (document.activeElement as HTMLElement | null)?.closest?.('.vitem') as HTMLElement | null;
      let i = focused ? Number(focused.dataset.vindex) : focusIndex.current;
      if (i < 0 || i >= ids.length) {
        // from the first item whose top is under the header
        const y = -el.getBoundingClientRect().top + headerHeight();
        i = Math.max(0, indexAt(offsets, ids.length, y) - 1) - (e.key === 'j' ? 1 : 0);
      }
      const next = Math.max(0, Math.min(ids.length - 1, i + (e.key === 'j' ? 1 : -1)));
      focusIndex.current = next;
      const listTop = el.getBoundingClientRect().top + window.scrollY;
      window.scrollTo({ top: listTop + offsets[next]! - headerHeight() - 8 });
      let tries = 0;
      const land = () => {
        // the item's article takes focus (a feed holds articles only); marked, so the ring shows
        // for keyboard focus, not when a click lands inside a card
        const item = el.querySelector<HTMLElement>(`[data-vindex="${next}"] > article, [data-vindex="${next}"] > *`);
        // the window may render it a frame or two after the scroll
        if (!item) return void (tries++ < 20 && requestAnimationFrame(land));
        if (item.tabIndex < 0 && !item.hasAttribute('tabindex')) item.tabIndex = -1;
        item.dataset.kbd = '';
        item.addEventListener('blur', () => delete item.dataset.kbd, { once: true });
        item.focus({ preventScroll: true });
      };
      requestAnimationFrame(land);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [keys, ids, offsets]);

  // Rendered items are kept per id while `render` is the same function: a scroll re-renders the
  // window, and React skips an element it has seen before, so cards already shown cost nothing.
  const cache = useRef<{ render: VirtualFeedProps['render']; nodes: Map<string, { i: number; node: ReactNode }> }>({ render, nodes: new Map() });
  if (cache.current.render !== render) cache.current = { render, nodes: new Map() };
  const { start, end } = range;
  if (cache.current.nodes.size > 4 * (end - start) + 200) {
    for (const k of cache.current.nodes.keys()) if (ids.indexOf(k) < start - 50 || ids.indexOf(k) > end + 50) cache.current.nodes.delete(k);
  }
  const top = offsets[Math.min(start, ids.length)]!;
  const bottom = offsets[ids.length]! - offsets[Math.min(end, ids.length)]!;
  const items: ReactNode[] = [];
  for (let i = start; i < end && i < ids.length; i++) {
    const id = ids[i]!;
    const nodes = cache.current.nodes;
    let held = nodes.get(id);
    // an item that moved (posts arrived above it) is rendered again: its index drives J/K
    if (!held || held.i !== i) {
      held = {
        i,
        node: (
          <div key={id} className="vitem" data-vid={id} data-vindex={i} ref={measure}>
            {render(id, i)}
          </div>
        ),
      };
      nodes.set(id, held);
    }
    items.push(held.node);
  }
  return (
    <div ref={list} className="vfeed" role="feed" aria-busy={busy} aria-label={label}>
      <div className="vspacer" style={{ height: top }} aria-hidden="true" />
      {items}
      <div className="vspacer" style={{ height: bottom }} aria-hidden="true" />
    </div>
  );
}
