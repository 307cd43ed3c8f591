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
  const iso = new Date(us / 1000).toISOString();
  return (
    <time dateTime={iso} title={absoluteTime(us)}>
      {relativeTime(us)}
    </time>
  );
}
