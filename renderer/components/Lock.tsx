// The lock beside a private stream's name (DESIGN §8), wherever the stream is named: one look, and
// one accessible name, so a reader always knows which streams only read-link holders can read.
import { Icon } from './Icon';
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
    <div className="setting-row private-choice">
      <div className="setting-text">
        <label htmlFor={id} className="setting-label">
          <Icon name="lock" size={15} /> Private stream
        </label>
        <p className="setting-hint" id={`${id}-hint`}>
          Its posts are encrypted: only people you give its read link to can read them, and computers that carry it see sealed data only.
        </p>
      </div>
      <input
        id={id}
        type="checkbox"
        role="switch"
        className="switch"
        checked={checked}
        aria-describedby={`${id}-hint`}
        onChange={(e) => onChange(e.target.checked)}
      />
    </div>
  );
}
