// The one way Drayer writes a size, in the app and on the phone page alike: SI units (powers of
// 1000, as file managers on phones and macOS count): B, kB, MB, GB, TB; one decimal below 100 with
// a trailing ".0" dropped, whole numbers from 100 up ("999 B", "1.5 kB", "180 kB", "2.4 MB").
const UNITS = ['kB', 'MB', 'GB', 'TB'];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  if (n < 1000) return `${Math.round(n)} B`;
  let v = n / 1000;
  let i = 0;
  // Round first, then move up a unit if rounding reached 1000 ("1 MB", not "1000 kB").
  const shown = (x: number) => (x >= 99.95 ? Math.round(x) : Math.round(x * 10) / 10);
  while (shown(v) >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  const r = shown(v);
  return `${r >= 100 ? r.toFixed(0) : r.toFixed(1).replace(/\.0$/, '')} ${UNITS[i]}`;
}
