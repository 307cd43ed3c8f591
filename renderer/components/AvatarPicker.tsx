// Choose a picture for a stream: a preview of it as the avatar, "Choose picture" and "Remove".
// `value` undefined keeps what the stream has; a File replaces it; null removes it.
import { useEffect, useId, useMemo, useRef } from 'react';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

export const AVATAR_ACCEPT = 'image/png,image/jpeg,image/gif,image/webp';

export function AvatarPicker({
  publicKey,
  name,
  value,
  hasCurrent,
  onChange,
  size = 72,
}: {
  publicKey: string;
  name: string;
  value: File | null | undefined;
  hasCurrent: boolean;
  onChange: (f: File | null | undefined) => void;
  size?: number;
}) {
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  const preview = useMemo(() => (value ? URL.createObjectURL(value) : value), [value]);
  useEffect(
    () => () => {
      if (preview) URL.revokeObjectURL(preview);
    },
    [preview],
  );
  const showing = value === undefined ? hasCurrent : value !== null;
  return (
    <div className="avatar-picker">
      <Avatar publicKey={publicKey} name={name || '?'} size={size} src={preview} />
      <div className="avatar-picker-actions">
        <input
          ref={input}
          id={id}
          type="file"
          accept={AVATAR_ACCEPT}
          className="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (f) onChange(f);
          }}
        />
        <button type="button" className="button button-sm" onClick={() => input.current?.click()}>
          <Icon name="image" size={16} /> {showing ? 'Change picture' : 'Choose picture'}
        </button>
        {showing ? (
          <button type="button" className="button button-sm button-quiet" onClick={() => onChange(hasCurrent ? null : undefined)}>
            Remove
          </button>
        ) : null}
      </div>
    </div>
  );
}
