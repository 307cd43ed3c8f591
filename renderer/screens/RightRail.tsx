// The right rail on wide windows: Share for the stream in view (your main stream elsewhere),
// streams nearby and what is syncing now.
import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { displayName, isMineHere, selectMine, useStreams, type StreamsState } from '../stores/streams';
import { CopyButton } from '../components/CopyButton';
import { Icon } from '../components/Icon';
import { QrCode } from '../components/QrCode';
import { selectActive, useSync } from '../stores/sync';
import { SyncProgress } from '../components/SyncProgress';
import { NearbyRow } from './Nearby';
import { useUi } from '../stores/ui';

export function RightRail() {
  // streams to discover: the ones followed already are in the sidebar (a follow under way stays until it is done)
  const nearby = useStreams(useShallow((s) => s.nearby.filter((n) => !n.following || s.pending[n.publicKey])));
  // what the nearby streams all here already are: followed, kept without following (hold), yours
  const here = useStreams(useShallow((s) => hereAlready(s.nearby, s.byKey)));
  const route = useUi((s) => s.route);
  const followDialog = useUi((s) => s.dialog?.kind === 'follow');
  const pendingKeys = useStreams((s) => s.pending);
  // Each pull shows in full once per screen: the stream's own page and Nearby's rows show theirs,
  // the follow dialog its new stream; the rail shows the rest (the sidebar's spinners stay compact).
  const active = useSync(useShallow(selectActive)).filter(
    (p) => !(route.name === 'stream' && route.publicKey === p.publicKey) && !(route.name === 'nearby' && pendingKeys[p.publicKey]) && !followDialog,
  );
  const known = useStreams(useShallow((s) => ({ byKey: s.byKey, pending: s.pending, nearby: s.nearby })));
  const names = active.map((p) => displayName(known, p.publicKey));
  const navigate = useUi((s) => s.navigate);
  const onNearby = useUi((s) => s.route.name === 'nearby');
  const viewing = useUi((s) => (s.route.name === 'stream' ? s.route.publicKey : null));
  const main = useStreams((s) => selectMine(s)[0]?.publicKey ?? null);
  const held = useStreams((s) => (viewing ? !!s.byKey[viewing] : false));
  const sharing = viewing && held ? viewing : main;
  return (
    <aside className="rail" aria-label="Share, nearby and syncing">
      {sharing ? <ShareCard publicKey={sharing} /> : null}
      {onNearby ? null : (
        <section className="rail-section" aria-labelledby="rail-nearby">
          <h2 className="section-label rail-head" id="rail-nearby">
            <span>Nearby</span>
            {nearby.length > 0 ? (
              <span className="live-dot" title="Live: computers appear and leave as they come and go">
                <span className="visually-hidden">live</span>
              </span>
            ) : null}
          </h2>
          {nearby.length === 0 ? (
            <p className="rail-empty">{here ?? 'Streams on this network appear here by themselves.'}</p>
          ) : (
            <ul className="rail-list">
              {nearby.slice(0, 5).map((n) => (
                <NearbyRow key={n.publicKey} n={n} compact />
              ))}
            </ul>
          )}
          {nearby.length > 5 ? (
            <button type="button" className="link-button" onClick={() => navigate({ name: 'nearby' })}>
              Show all {nearby.length}
            </button>
          ) : null}
        </section>
      )}
      {active.length > 0 ? (
        <section className="rail-section" aria-labelledby="rail-syncing">
          <h2 className="section-label" id="rail-syncing">
            Syncing
          </h2>
          <ul className="rail-list">
            {active.map((p, i) => (
              <li key={p.publicKey} className="sync-row">
                <SyncProgress
                  p={p}
                  label={`Syncing ${names[i] ?? 'stream'}`}
                  head={
                    <button type="button" className="link-button sync-row-name" onClick={() => navigate({ name: 'stream', publicKey: p.publicKey })}>
                      {names[i] ?? 'New stream'}
                    </button>
                  }
                  onCancel={() => void useSync.getState().cancel(p.publicKey)}
                  cancelLabel={`Cancel syncing ${names[i] ?? 'stream'}`}
                />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </aside>
  );
}

/** When every stream nearby is held here: how, counted (a kept copy is not followed, yours are neither); null when none is nearby. */
export function hereAlready(nearby: StreamsState['nearby'], byKey: StreamsState['byKey']): string | null {
  if (nearby.length === 0) return null;
  let followed = 0;
  let kept = 0;
  let yours = 0;
  for (const n of nearby) {
    const s = byKey[n.publicKey];
    if (n.owned || (s && isMineHere(s))) yours++;
    else if (s?.hold) kept++;
    else followed++;
  }
  if (followed === nearby.length) return `You follow every stream nearby (${followed}).`;
  const parts = [followed ? `${followed} followed` : '', kept ? `${kept} kept without following` : '', yours ? `${yours} yours` : ''].filter(Boolean);
  return `Every stream nearby is here already: ${parts.join(', ')}.`;
}

/** The rail's first card: the stream in view, as a phone or another computer would take it. */
function ShareCard({ publicKey }: { publicKey: string }) {
  const details = useStreams((s) => s.details[publicKey]);
  const name = useStreams((s) => s.byKey[publicKey]?.name) || 'this stream';
  const openDialog = useUi((s) => s.openDialog);
  useEffect(() => {
    // The stream page loads these itself; Home and the rest need them for the QR and the link.
    if (!useStreams.getState().details[publicKey])
      useStreams
        .getState()
        .loadDetails(publicKey)
        .catch(() => {});
  }, [publicKey]);
  // a private stream: the phone's address and the link carry its read key (after #, never sent to a server);
  // a sealed copy has none to give, so no phone address (the page could not read it)
  const readLink = details?.readLink;
  const phone =
    details?.serve && details.private !== 'sealed' && details.webUrls[0]
      ? details.webUrls[0] + (readLink ? readLink.slice(readLink.indexOf('#')) : '')
      : undefined;
  const link = readLink ?? details?.link ?? '';
  return (
    <section className="rail-section share-card" aria-labelledby="rail-share">
      <h2 className="section-label" id="rail-share">
        Share
      </h2>
      <div className="share-card-body">
        <button
          type="button"
          className="share-card-qr"
          onClick={() => openDialog({ kind: 'share', publicKey })}
          aria-label={`Open Share for ${name}`}
          title="Open Share: a bigger code, and every address"
        >
          {details ? <QrCode text={phone ?? link} label="" size={88} /> : <span className="qr qr-loading" />}
        </button>
        <div className="share-card-text">
          <p className="share-card-name" title={name}>
            {name}
          </p>
          <p>
            {readLink
              ? 'Private: whoever scans this code or gets the read link can read it.'
              : phone
                ? 'Scan with a phone on the same Wi-Fi, or send the link to someone with Drayer.'
                : 'Send the link to someone with Drayer: they follow it by pasting it.'}
          </p>
        </div>
      </div>
      <div className="share-card-actions">
        {details ? (
          <CopyButton text={link} label={readLink ? 'Copy read link' : 'Copy link'} className="button button-sm" />
        ) : (
          <button type="button" className="button button-sm" disabled>
            Copy link
          </button>
        )}
        <button type="button" className="button button-sm button-quiet" onClick={() => openDialog({ kind: 'share', publicKey })}>
          <Icon name="qr" size={16} /> Open Share
        </button>
      </div>
    </section>
  );
}
