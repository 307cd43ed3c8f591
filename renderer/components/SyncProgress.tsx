// A sync's progress: a bar (indeterminate until the node can tell a total), what arrived of what
// comes in bytes ("12.4 MB of 50 MB · about 20 s left"), and Cancel. Each screen shows it once
// (the stream page's card, Nearby's row, the follow dialog, else the right rail); elsewhere a
// spinner or "Syncing…" is the compact status.
import { useEffect, useState } from 'react';
import type { Progress } from '../stores/sync';
import { describeProgress } from '../lib/progress';

/** The time now, renewed every second while `on`: "time left" is dropped once a pull goes quiet. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  const pct = fraction === null ? undefined : Math.round(fraction * 100);
  return (
    <div
      className={fraction === null ? 'progress-bar indeterminate' : 'progress-bar'}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-valuetext={pct === undefined ? 'Starting' : `${pct}%`}
    >
      <span style={pct === undefined ? undefined : { width: `${Math.max(2, pct)}%` }} />
    </div>
  );
}

/**
 * `label`: what the bar is for, for screen readers ("Fetching Ada"). `line`: words in place of
 * the amount, before there is one ("Connecting…"). `onCancel`: offers Cancel (stops the pull,
 * keeping what arrived); `cancelLabel` names it for screen readers.
 */
export function SyncProgress({
  p,
  label,
  head,
  line,
  onCancel,
  cancelLabel,
}: {
  p: Progress;
  label: string;
  head?: React.ReactNode;
  line?: string;
  onCancel?: () => void;
  cancelLabel?: string;
}) {
  const now = useNow(!p.done && !!p.samples?.length);
  const v = describeProgress(p, p.samples, now);
  return (
    <div className="sync-progress">
      {head ? (
        <div className="sync-progress-head">
          <span className="sync-progress-title">{head}</span>
          {v.percent !== null && !line ? <span className="sync-progress-pct">{v.percent}%</span> : null}
        </div>
      ) : null}
      <ProgressBar fraction={line ? null : v.fraction} label={label} />
      <div className="sync-progress-foot">
        <div className="sync-progress-line">
          {line ? (
            <span>{line}</span>
          ) : (
            <>
              <span className="sync-progress-amount">{v.amount}</span>
              {v.left ? <span>{v.left}</span> : null}
            </>
          )}
        </div>
        {onCancel ? (
          <button
            type="button"
            className="button button-quiet button-sm sync-progress-cancel"
            onClick={onCancel}
            aria-label={cancelLabel ?? `Cancel: ${label}`}
          >
            Cancel
          </button>
        ) : null}
      </div>
    </div>
  );
}
