// Nearby: streams other computers on this network announce, each one click from following (or
// two, with the options popover: latest N records, titles only). The list is live: computers that
// appear or leave come and go by the node's events.
import { KEEP_HINT, KeepCopy } from '../components/KeepCopy';
import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { NearbyStream } from '../api/transport';
import { Avatar } from '../components/Avatar';
import { DEFAULT_LATEST, ScopePicker, scopeLabel } from '../components/FollowScope';
import { Icon } from '../components/Icon';
import { SyncProgress } from '../components/SyncProgress';
import { EmptyState } from '../components/States';
import { codeOf, explainFollowError, explainSyncError, messageOf } from '../stores/errors';
import { useSettings } from '../stores/settings';
import { useStreams, type FollowScope } from '../stores/streams';
import { useSync } from '../stores/sync';
import { useUi } from '../stores/ui';
import { relativeTime } from '../lib/time';
import { AddComputer, OwnAddress } from './NearbyAdd';
import '../styles/nearby-add.css';
import { Lock } from '../components/Lock';

/** "Ada's laptop" (or its address when it gave no name), and how many more computers have it. */
function fromLabel(n: NearbyStream): string {
  const p = n.peers[0];
  if (!p) return 'Nearby';
  const who = p.name || p.address;
  return n.peers.length > 1 ? `${who} and ${n.peers.length - 1} more` : who;
}

async function startFollow(n: NearbyStream, scope: FollowScope, hold = false): Promise<void> {
  const { toast } = useUi.getState();
  try {
    const s = await useStreams.getState().followNearby(n, scope, hold);
    const p = useSync.getState().progress[s.publicKey];
    const name = s.name || n.name || 'the stream';
    if (p?.cancelled) toast(`Stopped fetching ${name}: what arrived is kept. Resume it on its page.`);
    else if (p?.error && s.records === 0) toast(`Following ${name}, but nothing arrived yet. ${explainSyncError(p.error).text}`, 'error');
    else
      toast(
        `${hold ? 'Keeping a copy of' : 'Following'} ${name}${scopeLabel(scope) ? ` (${scopeLabel(scope)})` : ''}${hold ? ', not followed: its posts stay out of Home.' : ''}`,
      );
  } catch (e) {
    const x = explainFollowError(codeOf(e), messageOf(e));
    toast(`${x.text} ${x.advice}`, 'error');
  }
}

/** The ▾ beside Follow: a small popover to follow only part of the stream. */
function FollowOptions({ n, compact }: { n: NearbyStream; compact: boolean }) {
  const [open, setOpen] = useState(false);
  const [scope, setScope] = useState<FollowScope>({ kind: 'latest', n: DEFAULT_LATEST });
  const wrap = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const name = n.name || 'this stream';
  useEffect(() => {
    if (!open) return;
    wrap.current?.querySelector<HTMLInputElement>('.popover input:checked')?.focus();
    const onDown = (e: MouseEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  return (
    <div className="popover-wrap" ref={wrap}>
      <button
        ref={button}
        type="button"
        className={`button button-primary split-more${compact ? ' button-sm' : ''}`}
        aria-label={`Follow options for ${name}`}
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="chevronDown" size={16} />
      </button>
      {open ? (
        <div
          className="popover"
          role="dialog"
          aria-label={`Follow ${name}`}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
              button.current?.focus();
            }
          }}
        >
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              setOpen(false);
              void startFollow(n, scope);
            }}
          >
            <ScopePicker scope={scope} onChange={setScope} legend={`Follow ${name}: keep`} />
            <div className="popover-foot">
              <button
                type="button"
                className="button button-quiet button-sm"
                onClick={() => {
                  setOpen(false);
                  button.current?.focus();
                }}
              >
                Cancel
              </button>
              <button
                type="button"
                className="button button-sm"
                title={KEEP_HINT}
                onClick={() => {
                  setOpen(false);
                  void startFollow(n, scope, true);
                }}
              >
                Keep a copy
              </button>
              <button type="submit" className="button button-primary button-sm">
                Follow
              </button>
            </div>
          </form>
        </div>
      ) : null}
    </div>
  );
}

export function NearbyRow({ n, compact = false }: { n: NearbyStream; compact?: boolean }) {
  const pending = useStreams((s) => s.pending[n.publicKey]);
  const held = useStreams((s) => !!s.byKey[n.publicKey]);
  const kept = useStreams((s) => !!s.byKey[n.publicKey]?.hold);
  const progress = useSync((s) => s.progress[n.publicKey]);
  const navigate = useUi((s) => s.navigate);
  // a private stream goes out by its key's words: one held here with its read key shows its own name and a lock
  const heldAccess = useStreams((s) => s.byKey[n.publicKey]?.private);
  // one not held here that proved itself private: a follow without its read link would read nothing
  const sealedHere = !!n.private && !held && !n.following && !n.owned;
  const access = heldAccess ?? (sealedHere ? 'sealed' : undefined);
  const openDialog = useUi((s) => s.openDialog);
  const ownName = useStreams((s) => (s.byKey[n.publicKey]?.private === 'reader' ? s.byKey[n.publicKey]?.name : undefined));
  const name = ownName || n.name || 'Unnamed stream';
  const following = n.following || held;
  const open = () => navigate({ name: 'stream', publicKey: n.publicKey });
  const updated = n.mtip ? relativeTime(n.mtip) : null;
  return (
    <li className={compact ? 'nearby-row compact' : 'card nearby-row'} data-key={n.publicKey}>
      <div className="nearby-line">
        <Avatar publicKey={n.publicKey} name={name} size={compact ? 32 : 44} />
        <div className="nearby-main">
          <div className="nearby-name">
            <bdi className="nearby-name-text" title={name}>
              {name}
            </bdi>
            <Lock access={access} size={13} />
          </div>
          <div className="nearby-sub">
            <Icon name="laptop" size={compact ? 12 : 14} />
            <span className="nearby-from">{n.owned ? `Your stream, on ${fromLabel(n)}` : fromLabel(n)}</span>
            {!compact && updated ? <span className="nearby-updated">· updated {updated === 'now' ? 'just now' : updated}</span> : null}
          </div>
          {sealedHere ? <div className="nearby-sealed-text">Private: ask its owner for the read link to read it.</div> : null}
        </div>
        {n.owned ? (
          // Yours, carried by another computer: good to know it travels, nothing to follow.
          <button
            type="button"
            className={compact ? 'button button-sm button-quiet nearby-yours' : 'button button-quiet nearby-yours'}
            onClick={open}
            aria-label={`Open ${name}, your stream`}
          >
            Yours
          </button>
        ) : pending ? (
          <span className="nearby-state" role="status">
            <span className="spinner" aria-hidden="true" />
            {compact ? <span className="visually-hidden">Following…</span> : 'Following…'}
          </span>
        ) : sealedHere ? (
          <div className="nearby-sealed">
            <button
              type="button"
              className={compact ? 'button button-sm' : 'button'}
              onClick={() => openDialog({ kind: 'follow' })}
              aria-label={`Add the read link of ${name}`}
            >
              <Icon name="lock" size={14} /> {compact ? 'Read link' : 'Add the read link'}
            </button>
          </div>
        ) : kept ? (
          <KeepCopy streamKey={n.publicKey} name={name} small={compact} />
        ) : following ? (
          <button
            type="button"
            className={compact ? 'button button-sm button-quiet nearby-following' : 'button nearby-following'}
            onClick={open}
            aria-label={`Open ${name}`}
          >
            <Icon name="check" size={14} /> Following
          </button>
        ) : (
          <div className="split">
            <button
              type="button"
              className={`button button-primary split-main${compact ? ' button-sm' : ''}`}
              onClick={() => void startFollow(n, { kind: 'all' })}
              aria-label={`Follow ${name}`}
            >
              {compact ? null : <Icon name="plus" size={16} />} Follow
            </button>
            <FollowOptions n={n} compact={compact} />
          </div>
        )}
      </div>
      {pending && !compact ? (
        <div className="nearby-progress">
          {progress && !progress.done ? (
            <SyncProgress
              p={progress}
              label={`Fetching ${name}`}
              onCancel={() => void useSync.getState().cancel(n.publicKey)}
              cancelLabel={`Cancel fetching ${name}`}
            />
          ) : (
            <SyncProgress
              p={{ publicKey: n.publicKey, peer: '', records: 0, bytes: 0, done: false, at: 0 }}
              label={`Connecting to ${fromLabel(n)}`}
              line={`Connecting to ${fromLabel(n)}…`}
              onCancel={() => void useSync.getState().cancel(n.publicKey)}
              cancelLabel={`Cancel fetching ${name}`}
            />
          )}
        </div>
      ) : null}
    </li>
  );
}

export function Nearby() {
  // new streams first, then those followed, then your own carried by others
  const rank = (n: NearbyStream) => (n.owned ? 2 : n.following ? 1 : 0);
  const nearby = useStreams(useShallow((s) => [...s.nearby].sort((a, b) => rank(a) - rank(b) || (a.name || '\uffff').localeCompare(b.name || '\uffff'))));
  const node = useSettings((s) => s.node);
  const openDialog = useUi((s) => s.openDialog);
  useEffect(() => {
    void useStreams.getState().loadNearby();
    // Events say when computers come and go; this catches a stream a computer stopped announcing.
    const t = setInterval(() => void useStreams.getState().loadNearby(), 5000);
    return () => clearInterval(t);
  }, []);
  const off = !!node && !node.discovery;
  const computers = new Set(nearby.flatMap((n) => n.peers.map((p) => `${p.address}:${p.port}`))).size;
  return (
    <>
      <header className="page-head">
        <h1>Nearby</h1>
      </header>
      {off ? (
        <EmptyState
          icon="nearby"
          title="Finding nearby streams is off"
          text="Turn it on to see streams from computers on this network, and to let them see yours."
          action={
            <button type="button" className="button button-primary" onClick={() => void useSettings.getState().update({ discovery: true })}>
              Turn on
            </button>
          }
        />
      ) : (
        <>
          <section className="card radar-card" aria-label="This computer">
            <span className="radar" aria-hidden="true">
              <span />
              <span />
              <Icon name="nearby" size={22} />
            </span>
            <div className="radar-text">
              <p className="radar-title">
                {nearby.length === 0
                  ? 'Looking for streams on this network…'
                  : `${nearby.length} ${nearby.length === 1 ? 'stream' : 'streams'} on ${computers} ${computers === 1 ? 'computer' : 'computers'} nearby`}
              </p>
              <p className="radar-sub">
                {node?.name ? (
                  <>
                    Others see this computer as <strong>{node.name}</strong>.
                  </>
                ) : (
                  'Others on the same Wi-Fi see your streams here too.'
                )}
              </p>
              <OwnAddress />
            </div>
          </section>
          {nearby.length === 0 ? (
            <EmptyState
              icon="nearby"
              title="No one nearby yet"
              text="Streams on the same Wi-Fi show up here by themselves. Ask a friend to open Drayer, or follow someone by their key."
              action={
                <button type="button" className="button" onClick={() => openDialog({ kind: 'follow' })}>
                  Follow by key
                </button>
              }
            />
          ) : (
            <ul className="nearby-list" aria-label="Streams nearby">
              {nearby.map((n) => (
                <NearbyRow key={n.publicKey} n={n} />
              ))}
            </ul>
          )}
          <AddComputer empty={nearby.length === 0} />
        </>
      )}
    </>
  );
}
