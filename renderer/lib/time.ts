// Times for people: "now", "5 min", "3 h", "Tue", "12 Mar", "12 Mar 2023". Record times are µs.

// One formatter per style, made once: toLocaleString with options builds a new one on every call,
// milliseconds each, and a feed formats a time for every card (most of Home's first render).
const formats = new Map<string, Intl.DateTimeFormat>();
function format(d: Date, opts: Intl.DateTimeFormatOptions): string {
  const k = JSON.stringify(opts);
  let f = formats.get(k);
  if (!f) formats.set(k, (f = new Intl.DateTimeFormat(undefined, opts)));
  return f.format(d);
}

export function relativeTime(us: number, now = Date.now()): string {
  const ms = us / 1000;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h`;
  const d = new Date(ms);
  const days = Math.round(h / 24);
  if (days < 7) return format(d, { weekday: 'short' });
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return format(d, sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}

export function absoluteTime(us: number): string {
  return format(new Date(us / 1000), { dateStyle: 'medium', timeStyle: 'short' });
}

export function agoSentence(ms: number, now = Date.now()): string {
  const r = relativeTime(ms * 1000, now);
  return r === 'now' ? 'just now' : /\d/.test(r) && !/\s\d{4}$/.test(r) && /min|h$/.test(r) ? `${r} ago` : `on ${r}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
