// The fields the Follow dialog and a device's join dialog share: what the key says about a read
// link, and where to fetch the stream from.
import type { ReactNode } from 'react';
import { Lock } from './Lock';
import { readLinkIn } from '../lib/readLink';

/** The hint under a key field: `reader` once the text is a private stream's read link, else `plain`. */
export function ReadLinkHint({ id, text, reader, plain }: { id: string; text: string; reader: string; plain: ReactNode }) {
  return (
    <span className="field-hint" id={id}>
      {readLinkIn(text) ? (
        <span className="follow-read-link">
          <Lock access="reader" size={13} /> {reader}
        </span>
      ) : (
        plain
      )}
    </span>
  );
}

/** An optional host:port or URL to fetch a stream from. */
export function AddressField(props: { value: string; onChange: (v: string) => void; busy: boolean; invalid?: boolean; describedBy?: string; hint?: string }) {
  return (
    <label className="field">
      <span className="field-label">
        Address <span className="field-optional">optional</span>
      </span>
      <input
        className={props.invalid ? 'input mono input-invalid' : 'input mono'}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        placeholder="192.168.1.20:15723"
        spellCheck={false}
        inputMode="url"
        disabled={props.busy}
        aria-invalid={props.invalid || undefined}
        aria-describedby={props.describedBy}
      />
      {props.hint ? <span className="field-hint">{props.hint}</span> : null}
    </label>
  );
}
