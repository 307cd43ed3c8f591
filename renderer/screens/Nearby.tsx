// Nearby: streams other computers on this network announce, each one click from following.
import { useEffect, useState } from 'react';
import type { NearbyStream } from '../api/transport';
import { Avatar } from '../components/Avatar';
import { EmptyState } from '../components/States';
import { messageOf } from '../stores/errors';
import { useSettings } from '../stores/settings';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';

export function NearbyRow({ n, compact = false }: { n: NearbyStream; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const { toast, navigate } = useUi();
  const follow = async () => {
    setBusy(true);
    try {
      const p = n.peers[0];
      const host = p ? (p.address.includes(':') ? `[${p.address}]` : p.address) : null;
      await useStreams.getState().follow({ key: n.publicKey, url: p && host ? `http://${host}:${p.port}` : undefined });
      toast(`Following ${n.name || 'the stream'}`);
      void useStreams.getState().loadNearby();
    } catch (e) {
      toast(messageOf(e), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className={compact ? 'nearby-row compact' : 'card nearby-row'}>
      <Avatar publicKey={n.publicKey} name={n.name || '?'} size={compact ? 28 : 40} />
      <div className="nearby-main">
        <div className="nearby-name">{n.name || 'Unnamed stream'}</div>
        {!compact ? <div className="nearby-sub">{n.peers.length === 1 ? `On ${n.peers[0]!.address}` : `On ${n.peers.length} computers`}</div> : null}
      </div>
      {n.following ? (
        <button type="button" className="button button-sm" onClick={() => navigate({ name: 'stream', publicKey: n.publicKey })}>Following</button>
      ) : (
        <button type="button" className="button button-primary button-sm" onClick={() => void follow()} disabled={busy} aria-label={`Follow ${n.name || 'stream'}`}>
          {busy ? 'Following…' : 'Follow'}
        </button>
      )}
    </li>
  );
}

export function Nearby() {
  const nearby = useStreams((s) => s.nearby);
  const node = useSettings((s) => s.node);
  useEffect(() => {
    void useStreams.getState().loadNearby();
    const t = setInterval(() => void useStreams.getState().loadNearby(), 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <>
      <header className="page-head">
        <h1>Nearby</h1>
      </header>
      {node && !node.discovery ? (
        <EmptyState icon="nearby" title="Finding nearby streams is off" text="Turn it on to see streams from computers on this network, and to let them see yours."
          action={<button type="button" className="button button-primary" onClick={() => void useSettings.getState().update({ discovery: true })}>Turn on</button>} />
      ) : nearby.length === 0 ? (
        <EmptyState icon="nearby" title="No one nearby yet" text="Streams on the same Wi-Fi show up here by themselves. Ask a friend to open Drayer." />
      ) : (
        <ul className="nearby-list" aria-label="Streams nearby">
          {nearby.map((n) => <NearbyRow key={n.publicKey} n={n} />)}
        </ul>
      )}
    </>
  );
}
