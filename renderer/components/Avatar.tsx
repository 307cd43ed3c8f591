// A stream's avatar: generated from its name and key until streams carry an image.
import { avatarColor, initials } from '../lib/avatar';

export function Avatar({ publicKey, name, size = 40 }: { publicKey: string; name: string; size?: number }) {
  return (
    <span
      className="avatar"
      aria-hidden="true"
      style={{ width: size, height: size, fontSize: Math.round(size * 0.4), background: avatarColor(publicKey) }}
    >
      {initials(name || '?')}
    </span>
  );
}
