// How much of a stream to keep when following: everything, the latest N records (posts and files
// alike: the engine keeps the N newest live records of any type), or titles only.
// Used by the follow dialog and by Nearby's options popover.
import { useId } from 'react';
import type { FollowScope } from '../stores/streams';

export const DEFAULT_LATEST = 50;

export function ScopePicker({ scope, onChange, legend = 'Keep' }: { scope: FollowScope; onChange: (s: FollowScope) => void; legend?: string }) {
  const name = useId();
  const n = scope.kind === 'latest' ? scope.n : DEFAULT_LATEST;
  return (
    <fieldset className="field choice scope-picker">
      <legend className="field-label">{legend}</legend>
      <label className="radio">
        <input type="radio" name={name} checked={scope.kind === 'all'} onChange={() => onChange({ kind: 'all' })} />
        <span className="radio-text">
          Everything<span className="radio-hint">Every post and file, kept in sync</span>
        </span>
      </label>
      <label className="radio">
        <input
          type="radio"
          name={name}
          checked={scope.kind === 'latest'}
          onChange={() => onChange({ kind: 'latest', n })}
          aria-label="Only the latest posts and files"
        />
        <span className="radio-text">
          <span className="radio-inline">
            The latest
            <input
              className="input input-num"
              type="number"
              min={1}
              max={100000}
              value={n}
              aria-label="How many of the latest posts and files"
              onChange={(e) => onChange({ kind: 'latest', n: Math.max(1, Math.floor(Number(e.target.value)) || 1) })}
              onFocus={() => scope.kind !== 'latest' && onChange({ kind: 'latest', n })}
            />
            posts and files
          </span>
          <span className="radio-hint">Older ones are left out as new ones arrive</span>
        </span>
      </label>
      <label className="radio">
        <input type="radio" name={name} checked={scope.kind === 'meta'} onChange={() => onChange({ kind: 'meta' })} />
        <span className="radio-text">
          Titles only<span className="radio-hint">Small and quick; the rest is fetched when opened</span>
        </span>
      </label>
    </fieldset>
  );
}

export function scopeLabel(scope: FollowScope): string | null {
  return scope.kind === 'latest' ? `latest ${scope.n} posts and files` : scope.kind === 'meta' ? 'titles only' : null;
}
