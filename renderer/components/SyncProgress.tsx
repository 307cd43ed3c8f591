// A sync's progress: a bar (indeterminate until the peer tells a total) and the counts under it,
// records, file parts and bytes. The same everywhere it shows.
import type { Progress } from '../stores/sync';
import { describeProgress } from '../lib/progress';

export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  const pct = fraction === null ? undefined : Math.round(fraction * 100);
  return (
    <div
      className={fraction === null ? 'progress-bar indeterminate' : 'progress-bar'}
      role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}
      aria-valuetext={pct === undefined ? 'Starting' : `${pct}%`}
    >
      <span style={pct === undefined ? undefined : { width: `${Math.max(2, pct)}%` }} />
    </div>
  );
}

/** `label`: what the bar is for, for screen readers ("Fetching Ada"). */
/** `line`: words in place of the counts, before there are any ("Connecting to …"). */
export function SyncProgress({ p, label, head, line }: { p: Progress; label: string; head?: React.ReactNode; line?: string }) {
  const v = describeProgress(p);
  return (
    <div className="sync-progress">
      {head ? (
        <div className="sync-progress-head">
          <span className="sync-progress-title">{head}</span>
          {v.percent !== null ? <span className="sync-progress-pct">{v.percent}%</span> : null}
        </div>
      ) : null}
      <ProgressBar fraction={v.fraction} label={label} />
      <div className="sync-progress-line">
        {line ? <span>{line}</span> : <span>{v.records}</span>}
        {v.chunks || v.bytes ? <span>{[v.chunks, v.bytes].filter(Boolean).join(' · ')}</span> : null}
      </div>
    </div>
  );
}
