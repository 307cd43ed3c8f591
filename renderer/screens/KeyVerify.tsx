// "Key & verify": the one place a stream's cryptography shows. Its fingerprint as 24 numbered
// words, its key to copy, and a compare flow: their words (read aloud, or pasted from a message)
// beside yours, word by word, with a plain verdict. Like Signal's safety numbers: one tap away,
// never on every screen.
import { useEffect, useId, useState } from 'react';
import { CopyButton } from '../components/CopyButton';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { ErrorBanner } from '../components/States';
import { compareWords } from '../lib/compareWords';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';

export function KeyVerifyDialog({ publicKey }: { publicKey: string }) {
  const closeDialog = useUi((s) => s.closeDialog);
  const details = useStreams((s) => s.details[publicKey]);
  const [theirs, setTheirs] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ids = useId();
  useEffect(() => {
    useStreams
      .getState()
      .loadDetails(publicKey)
      .catch((e) => setError(messageOf(e)));
  }, [publicKey]);

  const name = details?.name || 'this stream';
  const words = details ? details.fingerprint.split(/\s+/).filter(Boolean) : [];
  const cmp = compareWords(words, theirs);
  const comparing = cmp.verdict !== 'empty';
  const differ = cmp.pairs.filter((p) => p.state === 'differ').length;
  return (
    <Dialog
      title="Key & verify"
      onClose={closeDialog}
      footer={
        <button type="button" className="button" onClick={closeDialog}>
          Done
        </button>
      }
    >
      {error ? <ErrorBanner text={error} /> : null}
      <p className="kv-lead">
        {details?.owned ? (
          <>
            These words stand for “{name}”. Read them to someone who follows you, or send them: if their copy shows the same words, they have your real stream.
          </>
        ) : (
          <>
            To be sure this is the real “{name}”, ask its author for their words (read aloud, or in a message) and compare them below. Only the same stream has
            the same words.
          </>
        )}
      </p>
      <label className="field">
        <span className="field-label">Compare with their words</span>
        <textarea
          className="input mono kv-input"
          rows={2}
          value={theirs}
          onChange={(e) => setTheirs(e.target.value)}
          placeholder="Paste or type the words they read to you"
          spellCheck={false}
          autoComplete="off"
          autoCapitalize="off"
          aria-describedby={`${ids}-verdict`}
        />
      </label>
      <div id={`${ids}-verdict`} role="status" className={`kv-verdict kv-${cmp.verdict}`}>
        {cmp.verdict === 'match' ? (
          <>
            <Icon name="shield" size={18} />
            <span>
              <strong>Match</strong> · all {words.length} words are the same: this is the real “{name}”.
            </span>
          </>
        ) : cmp.verdict === 'mismatch' ? (
          <>
            <Icon name="alert" size={18} />
            <span>
              <strong>Does not match</strong> · {differ === 1 ? '1 word differs' : `${differ} words differ`} (marked below). If you are comparing the same
              stream, this copy is not theirs: do not trust it.
            </span>
          </>
        ) : cmp.verdict === 'partial' ? (
          <>
            <Icon name="check" size={18} />
            <span>
              {cmp.pairs.filter((p) => p.state === 'match').length} of {words.length} words match so far.
            </span>
          </>
        ) : null}
      </div>
      <section className="kv-section" aria-labelledby={`${ids}-words`}>
        <div className="kv-head">
          <h3 id={`${ids}-words`}>{comparing ? 'Your words beside theirs' : 'Your words'}</h3>
          {details ? <CopyButton text={details.fingerprint} label="Copy words" /> : null}
        </div>
        {details ? (
          <ol className={comparing ? 'kv-grid kv-grid-compare' : 'kv-grid'}>
            {cmp.pairs.map((p, i) => (
              <li key={i} className={comparing ? `kv-cell kv-${p.state}` : 'kv-cell'}>
                <span className="kv-n" aria-hidden="true">
                  {i + 1}
                </span>
                <span className="kv-words">
                  <span className="kv-yours mono">{p.yours}</span>
                  {comparing ? (
                    <span className="kv-theirs mono">
                      {p.theirs ?? '—'}
                      <span className="visually-hidden">
                        {p.state === 'match' ? ', same' : p.state === 'differ' ? ', different' : p.state === 'pending' ? ', being typed' : ', not given'}
                      </span>
                    </span>
                  ) : null}
                </span>
                {comparing && (p.state === 'match' || p.state === 'differ') ? (
                  <span className="kv-mark" aria-hidden="true">
                    <Icon name={p.state === 'match' ? 'check' : 'close'} size={14} />
                  </span>
                ) : null}
              </li>
            ))}
          </ol>
        ) : (
          <div className="kv-grid kv-loading" aria-busy="true" aria-label="Loading" />
        )}
      </section>
      <section className="kv-section" aria-labelledby={`${ids}-key`}>
        <div className="kv-head">
          <h3 id={`${ids}-key`}>Key</h3>
          {details ? <CopyButton text={details.publicKey} label="Copy key" /> : null}
        </div>
        <p className="kv-key mono">{details?.publicKey ?? ''}</p>
        <p className="field-hint">The whole key, which the words above are drawn from. Anyone may see it: it lets people follow and check, never write.</p>
      </section>
    </Dialog>
  );
}
