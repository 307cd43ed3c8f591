// One on/off choice with what it means: a label, a one-sentence hint the switch is described by
// (so a screen reader says both), and the switch. Every such row looks and reads the same.
import type { ReactNode } from 'react';

export function SettingSwitch({
  id,
  label,
  hint,
  checked,
  onChange,
  className,
}: {
  id: string;
  label: ReactNode;
  hint: ReactNode;
  checked: boolean;
  onChange: (on: boolean) => void;
  /** a class added to the row's own `setting-row` */
  className?: string;
}) {
  return (
    <div className={className ? `setting-row ${className}` : 'setting-row'}>
      <div className="setting-text">
        <label htmlFor={id} className="setting-label">
          {label}
        </label>
        <p className="setting-hint" id={`${id}-hint`}>
          {hint}
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
