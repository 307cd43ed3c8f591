// Settings sections of the key and stream-file journeys: notifications, and your streams (key
// backup, restore from words, open a stream file, export, verify).
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { Avatar } from '../components/Avatar';
import { Icon } from '../components/Icon';
import { SettingSwitch } from '../components/SettingSwitch';
import { messageOf } from '../stores/errors';
import { notificationPermission, requestNotifications } from '../stores/notify';
import { useSettings } from '../stores/settings';
import { selectFollowed, selectMine, useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';

export function NotificationsSection() {
  const node = useSettings((s) => s.node);
  const toast = useUi((s) => s.toast);
  const [perm, setPerm] = useState(notificationPermission());
  if (!node) return null;
  const set = async (on: boolean) => {
    try {
      if (on) setPerm(await requestNotifications());
      await useSettings.getState().update({ notifications: on });
      toast('Saved');
    } catch (e) {
      toast(messageOf(e), 'error');
    }
  };
  const hint =
    node.notifications && perm === 'denied'
      ? 'This browser blocks notifications from Drayer: allow them in its site settings (the icon left of the address).'
      : node.notifications && perm === 'unsupported'
        ? 'This browser cannot show notifications; the desktop app will.'
        : 'A notification when someone you follow posts while Drayer is in the background. Click it to open the stream.';
  return (
    <section className="card settings-section" aria-labelledby="notifications">
      <h2 id="notifications">Notifications</h2>
      <SettingSwitch id="notify" label="New posts" hint={hint} checked={node.notifications} onChange={(on) => void set(on)} />
    </section>
  );
}

export function StreamsSection() {
  const mine = useStreams(useShallow(selectMine));
  const followed = useStreams(useShallow(selectFollowed));
  const openDialog = useUi((s) => s.openDialog);
  return (
    <section className="card settings-section" aria-labelledby="streams-keys">
      <h2 id="streams-keys">Streams and keys</h2>
      {[...mine, ...followed].map((s) => (
        <div className="setting-row stream-tools-row" key={s.publicKey}>
          <Avatar publicKey={s.publicKey} name={s.name || '?'} size={32} />
          <div className="setting-text">
            <span className="setting-label">{s.name || 'Unnamed stream'}</span>
            <p className="setting-hint">
              {s.owned ? 'Yours' : 'Followed'} · {s.file}
            </p>
          </div>
          <div className="tool-actions">
            {s.owned ? (
              <button
                type="button"
                className="button button-sm"
                aria-label={`Back up the key of ${s.name}`}
                onClick={() => openDialog({ kind: 'keyBackup', publicKey: s.publicKey })}
              >
                <Icon name="shield" size={14} /> Back up key
              </button>
            ) : null}
            <button
              type="button"
              className="button button-sm"
              aria-label={`Export ${s.name}`}
              onClick={() => openDialog({ kind: 'exportStream', publicKey: s.publicKey })}
            >
              <Icon name="download" size={14} /> Export
            </button>
            <button
              type="button"
              className="button button-sm"
              aria-label={`Verify ${s.name}`}
              onClick={() => openDialog({ kind: 'verify', publicKey: s.publicKey })}
            >
              <Icon name="check" size={14} /> Verify
            </button>
          </div>
        </div>
      ))}
      <div className="setting-row">
        <div className="setting-text">
          <span className="setting-label">Add a stream you have</span>
          <p className="setting-hint">From its 32 backup words (it becomes yours to write here), or from its stream file.</p>
        </div>
        <div className="tool-actions">
          <button type="button" className="button" onClick={() => openDialog({ kind: 'restore' })}>
            <Icon name="key" size={16} /> Restore from words
          </button>
          <button type="button" className="button" onClick={() => openDialog({ kind: 'openFile' })}>
            <Icon name="folder" size={16} /> Open a file
          </button>
        </div>
      </div>
    </section>
  );
}
