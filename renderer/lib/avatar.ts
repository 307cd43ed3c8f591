// Generated avatars: initials on a colour picked from the public key, so a stream looks the same
// on every device. The palette is dark enough for white initials in both themes (WCAG AA).
const PALETTE = ['#3b5bdb', '#1971c2', '#0b7285', '#087f5b', '#237032', '#4a7a0a', '#a05a00', '#c2410c', '#c92a2a', '#a61e4d', '#862e9c', '#5f3dc4'];

export function avatarColor(publicKey: string): string {
  let h = 2166136261;
  for (let i = 0; i < publicKey.length; i++) {
    h ^= publicKey.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]!][0] ?? '';
  const second = words.length > 1 ? ([...words[words.length - 1]!][0] ?? '') : '';
  return (first + second).toUpperCase();
}
