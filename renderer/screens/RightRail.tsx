// The right rail on wide windows: streams nearby and what is syncing now.
import { useShallow } from 'zustand/react/shallow';
import { displayName, selectMine, useStreams } from '../stores/streams';
import { CopyButton } from '../components/CopyButton';
import { selectActive, useSync } from '../stores/sync';
import { SyncProgress } from '../components/SyncProgress';
import { NearbyRow } from './Nearby';
import { useUi } from '../stores/ui';

export function RightRail() {
  // streams to discover: the ones followed already are in the sidebar (a follow under way stays until it is done)
  const nearby = useStreams(useShallow((s) => s.nearby.filter((n) => !n.following || s.pending[n.publicKey])));
  const nearbyAll = useStreams((s) => s.nearby.length);
  const route = useUi((s) => s.route);
  const followDialog = useUi((s) => s.dialog?.kind === 'follow');
  const pendingKeys = useStreams((s) => s.pending);
  // Each pull shows in full once per screen: the stream's own page and Nearby's rows show theirs,
  // the follow dialog its new stream; the rail shows the rest (the sidebar's spinners stay compact).
  const active = useSync(useShallow(selectActive)).filter((p) =>
    !(route.name === 'stream' && route.publicKey === p.publicKey) && !(route.name === 'nearby' && pendingKeys[p.publicKey]) && !followDialog);
  const known = useStreams(useShallow((s) => ({ byKey: s.byKey, pending: s.pending, nearby: s.nearby })));
  const names = active.map((p) => displayName(known, p.publicKey));
  const navigate = useUi((s) => s.navigate);
  const onNearby = useUi((s) => s.route.name === 'nearby');
  const mine = useStreams(useShallow(selectMine));
  const own = mine[0];
  return (
    <aside className="rail" aria-label="Nearby and syncing">
      {own ? (
        <section className="rail-section share-card">
          <h2 className="section-label">Your key</h2>
          <p>Anyone can follow {mine.length > 1 ? `“${own.name}”` : 'you'} with this key.</p>
          <span className="mono">{own.publicKey}</span>
          <CopyButton text={own.publicKey} label="Copy key" className="button button-sm" />
        </section>
      ) : null}
      {onNearby ? null : (
      <section className="rail-section" aria-labelledby="rail-nearby">
        <h2 className="section-label rail-head" id="rail-nearby">
          <span>Nearby</span>
          {nearby.length > 0 ? <span className="live-dot" title="Live: computers appear and leave as they come and go"><span className="visually-hidden">live</span></span> : null}
        </h2>
        {nearby.length === 0 ? (
          <p className="rail-empty">{nearbyAll > 0 ? `You follow every stream nearby (${nearbyAll}).` : 'Streams on this network appear here by themselves.'}</p>
        ) : (
          <ul className="rail-list">
            {nearby.slice(0, 5).map((n) => <NearbyRow key={n.publicKey} n={n} compact />)}
          </ul>
        )}
        {nearby.length > 5 ? <button type="button" className="link-button" onClick={() => navigate({ name: 'nearby' })}>Show all {nearby.length}</button> : null}
      </section>
      )}
      {active.length > 0 ? (
        <section className="rail-section" aria-labelledby="rail-syncing">
          <h2 className="section-label" id="rail-syncing">Syncing</h2>
          <ul className="rail-list">
            {active.map((p, i) => (
              <li key={p.publicKey} className="sync-row">
                <SyncProgress
                  p={p}
                  label={`Syncing ${names[i] ?? 'stream'}`}
                  head={<button type="button" className="link-button sync-row-name" onClick={() => navigate({ name: 'stream', publicKey: p.publicKey })}>{names[i] ?? 'New stream'}</button>}
                  onCancel={() => void useSync.getState().cancel(p.publicKey)} cancelLabel={`Cancel syncing ${names[i] ?? 'stream'}`}
                />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </aside>
  );
}
