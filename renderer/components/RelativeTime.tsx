// "5 min" with the full date on hover, kept fresh by one shared minute ticker.
import { useEffect, useState } from 'react';
import { absoluteTime, relativeTime } from '../lib/time';

const subscribers = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function useMinuteTick(): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const tick = () => setN((x) => x + 1);
    subscribers.add(tick);
    timer ??= setInterval(() => subscribers.forEach((f) => f()), 30_000);
    return () => {
      subscribers.delete(tick);
      if (subscribers.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return n;
}

export function RelativeTime({ us }: { us: number }) {
  useMinuteTick();
  // The full date is made when a pointer comes to it: the first formatter of a page costs the
  // first paint tens of ms (the locale's data loads), for a tooltip nobody has asked for yet.
  const [hovered, setHovered] = useState(false);
  const iso = new Date(us / 1000).toISOString();
  return (
    <time dateTime={iso} title={hovered ? absoluteTime(us) : undefined} onPointerEnter={() => setHovered(true)}>
      {relativeTime(us)}
    </time>
  );
}
