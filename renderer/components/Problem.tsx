// An error as a person reads it: one sentence, the one thing to do, an action when there is one,
// and the node's exact words behind "Details" (for whoever helps, and for the curious).
import type { Explained } from '../stores/errors';
import { Icon } from './Icon';

export function Problem({ e, actions, className }: { e: Explained; actions?: React.ReactNode; className?: string }) {
  return (
    <div className={`problem${className ? ` ${className}` : ''}`} role="alert">
      <Icon name="alert" size={18} />
      <div className="problem-body">
        <p className="problem-text">{e.text}</p>
        <p className="problem-advice">{e.advice}</p>
        {actions ? <div className="problem-actions">{actions}</div> : null}
        {e.detail && e.detail !== e.text ? (
          <details className="problem-details">
            <summary>Details</summary>
            <p className="problem-detail" dir="auto">
              {e.detail}
            </p>
          </details>
        ) : null}
      </div>
    </div>
  );
}
