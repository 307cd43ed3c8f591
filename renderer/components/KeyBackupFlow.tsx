// Key backup: the secret key as 32 numbered words to copy onto paper, then a check that three of
// them, asked by position, were written down. Skippable; Settings and the stream page offer it later.
import { useEffect, useMemo, useState } from 'react';
import type { KeyBackup } from '../../app/node/api';
import { messageOf } from '../stores/errors';
import { checkAnswers, pickPositions, useStreamTools } from '../stores/streamTools';
import { Icon } from './Icon';
import { ErrorBanner } from './States';

export function WordGrid({ words, label = 'Secret key words, in order' }: { words: string[]; label?: string }) {
  return (
    <ol className="word-grid" aria-label={label}>
      {words.map((w, i) => (
        <li key={i} className="word-cell">
          <span className="word-n" aria-hidden="true">
            {i + 1}
          </span>
          <span className="word-w mono">{w}</span>
        </li>
      ))}
    </ol>
  );
}

export function KeyBackupFlow({
  publicKey,
  onDone,
  onSkip,
  skipLabel = 'Skip for now',
  heading,
}: {
  publicKey: string;
  onDone: () => void;
  onSkip: () => void;
  skipLabel?: string;
  /** shown above the first step (the first-run screen has its own title) */
  heading?: (b: KeyBackup) => React.ReactNode;
}) {
  const [backup, setBackup] = useState<KeyBackup | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [step, setStep] = useState<'show' | 'check' | 'done'>('show');
  // 32 words, or 64 for a private stream (its read key's follow the secret key's)
  const total = backup?.words.length ?? 32;
  const asked = useMemo(() => pickPositions(total, 3), [total]);
  const [answers, setAnswers] = useState(['', '', '']);
  const [result, setResult] = useState<boolean[] | null>(null);

  const load = () => {
    setError(null);
    useStreamTools
      .getState()
      .keyBackup(publicKey)
      .then(setBackup, (e) => setError(messageOf(e)));
  };
  useEffect(load, [publicKey]);

  if (error) return <ErrorBanner text={error} onRetry={load} />;
  if (!backup) return <div className="word-grid sk-grid" aria-busy="true" aria-label="Loading the words" />;

  if (step === 'done') {
    return (
      <div className="backup-done" role="status">
        <span className="ok-badge">
          <Icon name="shield" size={28} />
        </span>
        <h3>Your key is backed up</h3>
        <p>Keep the paper somewhere safe. To write to “{backup.name}” on another computer, choose “Restore from backup words” there.</p>
        <div className="form-actions">
          <button type="button" className="button button-primary" onClick={onDone} autoFocus>
            Done
          </button>
        </div>
      </div>
    );
  }

  if (step === 'check') {
    const submit = (e: React.FormEvent) => {
      e.preventDefault();
      const r = checkAnswers(backup.words, asked, answers);
      setResult(r);
      if (r.every(Boolean)) setStep('done');
    };
    return (
      <form className="form" onSubmit={submit} aria-label="Check your backup">
        <p className="backup-lead">Type these words from your paper, to be sure it is right.</p>
        <div className="check-fields">
          {asked.map((pos, i) => {
            const wrong = result !== null && !result[i];
            return (
              <label key={pos} className="field">
                <span className="field-label">Word {pos + 1}</span>
                <input
                  className="input mono"
                  value={answers[i]}
                  autoFocus={i === 0}
                  autoComplete="off"
                  spellCheck={false}
                  aria-invalid={wrong || undefined}
                  aria-describedby={wrong ? `check-err-${pos}` : undefined}
                  onChange={(e) => setAnswers(answers.map((a, j) => (j === i ? e.target.value : a)))}
                />
                {wrong ? (
                  <span className="field-error" id={`check-err-${pos}`}>
                    That is not word {pos + 1}. Look again at your paper.
                  </span>
                ) : null}
              </label>
            );
          })}
        </div>
        <div className="form-actions">
          <button
            type="button"
            className="button button-quiet"
            onClick={() => {
              setResult(null);
              setStep('show');
            }}
          >
            Show the words again
          </button>
          <button type="submit" className="button button-primary" disabled={answers.some((a) => !a.trim())}>
            Check
          </button>
        </div>
      </form>
    );
  }

  return (
    <div className="form">
      {heading ? heading(backup) : null}
      {backup.words.length > 32 ? (
        <p className="backup-lead">
          These {backup.words.length} words are the secret key and the read key of <strong>{backup.name || 'your stream'}</strong>, a private stream. With them
          you can restore it, and read it, on another computer; whoever has them can post as you and read every post. Write them on paper, in order, and keep it
          somewhere safe.
        </p>
      ) : (
        <p className="backup-lead">
          These {backup.words.length} words are the secret key of <strong>{backup.name || 'your stream'}</strong>. With them you can restore it on another
          computer; whoever has them can post as you. Write them on paper, in order, and keep it somewhere safe.
        </p>
      )}
      <WordGrid words={backup.words} />
      <p className="backup-warn">
        <Icon name="shield" size={16} /> Never share these words. Your public key is the one to give to people.
      </p>
      <div className="form-actions">
        <button type="button" className="button button-quiet" onClick={onSkip}>
          {skipLabel}
        </button>
        <button type="button" className="button button-primary" onClick={() => setStep('check')}>
          I wrote them down
        </button>
      </div>
    </div>
  );
}
