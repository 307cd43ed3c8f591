// Nearby, when the network hides other computers (guest Wi-Fi, offices, hotels: they keep devices
// apart or drop multicast): what to try, and a computer added by its address (`addNearby`), whose
// streams then show in the list like any found by themselves.
import { FormError } from '../components/Dialog';
import { useState } from 'react';
import { transport } from '../api';
import { useSubmit } from '../lib/useSubmit';
import { useSettings } from '../stores/settings';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';

// One empty list, not a new one per read: a store selector that returns a new array each time
// never settles (React error #185, "maximum update depth") while the node's status is not in yet.
const NO_ADDRESSES: string[] = [];

/** The list is refreshed a few times while the added computer's streams are checked (a second or so). */
async function reloadSoon(): Promise<void> {
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 250));
    await useStreams.getState().loadNearby();
  }
}

export function AddComputer({ empty }: { empty: boolean }) {
  const [address, setAddress] = useState('');
  const own = useSettings((s) => s.status?.addresses ?? NO_ADDRESSES);
  const toast = useUi((s) => s.toast);
  const { busy, error, run } = useSubmit(
    () => transport().call('addNearby', { address }),
    (r) => {
      setAddress('');
      // isolated: a right-to-left name must not reorder the sentence around it
      const who = `\u2068${r.name || `${r.address}:${r.port}`}\u2069`;
      toast(r.streams ? `Added ${who}: ${r.streams} ${r.streams === 1 ? 'stream' : 'streams'} shared` : `Added ${who}; it shares no streams yet`);
      void reloadSoon();
    },
    [address],
  );
  const form = (
    <form
      className="nearby-add-form"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <label className="field">
        <span className="field-label">Add a computer by its address</span>
        <div className="nearby-add-row">
          <input
            className="input"
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            placeholder="192.168.1.20:4657"
            spellCheck={false}
            autoCapitalize="off"
            maxLength={300}
            aria-describedby="nearby-add-hint"
            aria-invalid={error ? true : undefined}
          />
          <button type="submit" className="button button-primary" disabled={busy || !address.trim()}>
            {busy ? 'Adding…' : 'Add'}
          </button>
        </div>
        <span className="field-hint" id="nearby-add-hint">
          {own.length ? (
            <>
              The other computer shows its address at the top of its Nearby. This one is{' '}
              {own.map((a, i) => (
                <span key={a}>
                  {i ? ' or ' : ''}
                  <code className="nearby-addr">{a}</code>
                </span>
              ))}
              .
            </>
          ) : (
            'The other computer shows its address at the top of its Nearby.'
          )}
        </span>
      </label>
      <FormError text={error} />
    </form>
  );
  const tips = (
    <ul className="nearby-tips">
      <li>Both computers on the same network, and not a guest network: guest, office and hotel Wi-Fi often keep computers apart.</li>
      <li>Drayer open on the other computer, with finding nearby streams on (Settings).</li>
      <li>A firewall asking about Drayer: allow it on private networks.</li>
    </ul>
  );
  if (empty) {
    return (
      <section className="card nearby-add" aria-label="Nobody showing up?">
        <h2 className="nearby-add-title">Nobody showing up?</h2>
        {tips}
        {form}
      </section>
    );
  }
  return (
    <details className="nearby-add nearby-add-more">
      <summary>A computer missing? Add it by its address</summary>
      {tips}
      {form}
    </details>
  );
}

/** "Others can add this computer as 192.168.1.5:4657" for the radar card. */
export function OwnAddress() {
  const own = useSettings((s) => s.status?.addresses ?? NO_ADDRESSES);
  if (own.length === 0) return null;
  return (
    <p className="radar-sub">
      Its address: <code className="nearby-addr">{own[0]}</code>
    </p>
  );
}
