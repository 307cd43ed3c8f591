// A stream's avatar: its image (a file of the stream, read through the node) when it has one,
// else initials on a colour from its key, so streams are told apart at a glance. `src` shows a
// local picture instead (a preview before it is saved).
import { useEffect } from 'react';
import { avatarColor, initials } from '../lib/avatar';
import { imageKey, useFiles } from '../stores/files';
import { useStreams } from '../stores/streams';

export function Avatar({ publicKey, name, size = 40, src }: { publicKey: string; name: string; size?: number; src?: string | null }) {
  const path = useStreams((s) => s.byKey[publicKey]?.avatar);
  const url = useFiles((s) => (path ? s.images[imageKey(publicKey, path)]?.url : null));
  useEffect(() => {
    if (path && src === undefined) void useFiles.getState().loadImage(publicKey, path);
  }, [publicKey, path, src]);
  const image = src !== undefined ? src : url;
  if (image) {
    return (
      <img
        className="avatar avatar-image"
        src={image}
        alt=""
        aria-hidden="true"
        width={size}
        height={size}
        style={{ width: size, height: size }}
        draggable={false}
      />
    );
  }
  return (
    <span className="avatar" aria-hidden="true" style={{ width: size, height: size, fontSize: Math.round(size * 0.4), background: avatarColor(publicKey) }}>
      {initials(name || '?')}
    </span>
  );
}
