// The states a list can be in, drawn on purpose: loading (skeletons), empty (one line and the
// one action that fills it), error (what happened, what to do, retry).
import type { ReactNode } from 'react';
import { Icon, type IconName } from './Icon';

export function SkeletonCards({ count = 3 }: { count?: number }) {
  return (
    <div aria-busy="true" aria-label="Loading">
      {Array.from({ length: count }, (_, i) => (
        <div key={i} className="card post skeleton">
          <span className="sk sk-avatar" />
          <div className="sk-lines">
            <span className="sk sk-line w30" />
            <span className="sk sk-line w90" />
            <span className="sk sk-line w70" />
          </div>
        </div>
      ))}
    </div>
  );
}

export function EmptyState({ icon, title, text, action }: { icon: IconName; title: string; text: string; action?: ReactNode }) {
  return (
    <div className="empty">
      <span className="empty-icon">
        <Icon name={icon} size={28} />
      </span>
      <h2>{title}</h2>
      <p>{text}</p>
      {action}
    </div>
  );
}

export function ErrorBanner({ text, onRetry }: { text: string; onRetry?: () => void }) {
  return (
    <div className="banner banner-error" role="alert">
      <Icon name="alert" size={18} />
      <span>{text}</span>
      {onRetry ? (
        <button type="button" className="button button-quiet" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
