// The lock beside a private stream's name (DESIGN §8), wherever the stream is named: one look, and
// one accessible name, so a reader always knows which streams only read-link holders can read.
import { Icon } from './Icon';
import { SettingSwitch } from './SettingSwitch';
import '../styles/private.css';

export type Access = 'reader' | 'sealed';

export function lockLabel(access: Access): string {
  return access === 'sealed' ? 'Private, sealed: no read key here' : 'Private: only people with its read link can read it';
}

export function Lock({ access, size = 14, className }: { access?: Access; size?: number; className?: string }) {
  if (!access) return null;
  return (
    <span className={className ? `lock ${className}` : 'lock'} data-access={access} role="img" aria-label={lockLabel(access)} title={lockLabel(access)}>
      <Icon name="lock" size={size} />
    </span>
  );
}

/** The "Private stream" switch of the New stream dialog and the first-run screen, with what it means in one sentence. */
export function PrivateSwitch({ id, checked, onChange }: { id: string; checked: boolean; onChange: (on: boolean) => void }) {
  return (
    <SettingSwitch
      id={id}
      className="private-choice"
      label={
        <>
          <Icon name="lock" size={15} /> Private stream
        </>
      }
      hint="Its posts are encrypted: only people you give its read link to can read them, and computers that carry it see sealed data only."
      checked={checked}
      onChange={onChange}
    />
  );
}

/** The "Announce privately" switch of the New stream dialog and the first-run screen. */
export function AnnounceSwitch({ id, checked, onChange }: { id: string; checked: boolean; onChange: (on: boolean) => void }) {
  return (
    <SettingSwitch
      id={id}
      label="Announce privately"
      hint="Only computers you give its key to can tell it is on this network. Chosen now, its name and key never go out plainly."
      checked={checked}
      onChange={onChange}
    />
  );
}
