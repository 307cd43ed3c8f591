// The right rail on wide windows: streams nearby and what is syncing now.
import { useShallow } from 'zustand/react/shallow';
import { selectMine, useStreams } from '../stores/streams';
import { CopyButton } from '../components/CopyButton';
import { selectActive, useSync } from '../stores/sync';
import { formatCount } from '../lib/time';
import { NearbyRow } from './Nearby';
import { useUi } from '../stores/ui';

export function RightRail() {
  const nearby = useStreams((s) => s.nearby);
  const byKey = useStreams((s) => s.byKey);
  const active = useSync(useShallow(selectActive));
  const navigate = useUi((s) => s.navigate);
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
      <section className="rail-section">
        <h2 className="section-label">Nearby</h2>
        {nearby.length === 0 ? (
          <p className="rail-empty">Streams on this network appear here.</p>
        ) : (
          <ul className="rail-list">
            {nearby.slice(0, 5).map((n) => <NearbyRow key={n.publicKey} n={n} compact />)}
          </ul>
        )}
        {nearby.length > 5 ? <button type="button" className="link-button" onClick={() => navigate({ name: 'nearby' })}>Show all {nearby.length}</button> : null}
      </section>
      {active.length > 0 ? (
        <section className="rail-section">
          <h2 className="section-label">Syncing</h2>
          <ul className="rail-list">
            {active.map((p) => {
              const pct = p.recordsTotal ? Math.min(100, Math.round((100 * p.records) / p.recordsTotal)) : null;
              return (
                <li key={p.publicKey} className="sync-row">
                  <div className="sync-row-head">
                    <span>{byKey[p.publicKey]?.name || 'New stream'}</span>
                    <span>{pct !== null ? `${pct}%` : ''}</span>
                  </div>
                  <div className="progress-bar" role="progressbar" aria-label={`Syncing ${byKey[p.publicKey]?.name || 'stream'}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined}>
                    <span style={{ width: `${pct ?? 30}%` }} />
                  </div>
                  <div className="sync-row-sub">{formatCount(p.records)}{p.recordsTotal ? ` of ${formatCount(p.recordsTotal)}` : ''} records</div>
                </li>
              );
            })}
          </ul>
        </section>
      ) : null}
    </aside>
  );
}
