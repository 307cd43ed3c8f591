// Settings: appearance (theme), this node (name, data folder), network (discovery, sharing,
// sync interval). Node settings save as they change.
import { useEffect, useState } from 'react';
import type { Settings as NodeSettings } from '../api/transport';
import { ErrorBanner } from '../components/States';
import { Icon, type IconName } from '../components/Icon';
import { SettingSwitch } from '../components/SettingSwitch';
import { messageOf } from '../stores/errors';
import { useSettings, type ThemePref } from '../stores/settings';
import { useUi } from '../stores/ui';
import { NotificationsSection, StreamsSection } from './SettingsExtra';
import { RouterLine } from './SettingsReach';

const THEMES: { value: ThemePref; label: string; icon: IconName }[] = [
  { value: 'system', label: 'System', icon: 'monitor' },
  { value: 'light', label: 'Light', icon: 'sun' },
  { value: 'dark', label: 'Dark', icon: 'moon' },
];

const SYNC_MODES: { value: NodeSettings['syncMode']; label: string; hint: string }[] = [
  { value: 'normal', label: 'Normal', hint: 'Fetch from nearby computers and from the internet.' },
  { value: 'lan', label: 'LAN only', hint: 'Fetch only from computers on this network (local addresses); mirrors on the internet are skipped.' },
  { value: 'paused', label: 'Paused', hint: 'Fetch nothing until you turn it back on. Others nearby can still fetch your streams from you.' },
];

const INTERVALS = [
  { s: 15, label: 'Every 15 seconds' },
  { s: 60, label: 'Every minute' },
  { s: 300, label: 'Every 5 minutes' },
  { s: 900, label: 'Every 15 minutes' },
  { s: 3600, label: 'Every hour' },
];

export function Settings() {
  const { theme, setTheme, node, status, error } = useSettings();
  const toast = useUi((s) => s.toast);
  const [name, setName] = useState(node?.name ?? '');
  useEffect(() => setName(node?.name ?? ''), [node?.name]);
  useEffect(() => void useSettings.getState().load(), []);

  const save = async (patch: Partial<NodeSettings>) => {
    try {
      await useSettings.getState().update(patch);
      toast('Saved');
    } catch (e) {
      toast(messageOf(e), 'error');
    }
  };
  const intervals =
    node && !INTERVALS.some((i) => i.s === node.syncIntervalS)
      ? [...INTERVALS, { s: node.syncIntervalS, label: `Every ${node.syncIntervalS} seconds` }]
      : INTERVALS;

  return (
    <>
      <header className="page-head">
        <h1>Settings</h1>
      </header>
      {error ? <ErrorBanner text={error} onRetry={() => void useSettings.getState().load()} /> : null}
      <section className="card settings-section" aria-labelledby="appearance">
        <h2 id="appearance">Appearance</h2>
        <div className="setting-row">
          <div className="setting-text">
            <span className="setting-label" id="theme-label">
              Theme
            </span>
            <p className="setting-hint">System follows your computer's light or dark mode.</p>
          </div>
          <div className="segmented" role="radiogroup" aria-labelledby="theme-label">
            {THEMES.map((t) => (
              <button
                key={t.value}
                type="button"
                role="radio"
                aria-checked={theme === t.value}
                className={theme === t.value ? 'segment active' : 'segment'}
                onClick={() => setTheme(t.value)}
              >
                <Icon name={t.icon} size={16} /> {t.label}
              </button>
            ))}
          </div>
        </div>
      </section>
      {node ? (
        <>
          <section className="card settings-section" aria-labelledby="this-node">
            <h2 id="this-node">This computer</h2>
            <form
              className="setting-row"
              onSubmit={(e) => {
                e.preventDefault();
                if (name.trim() && name.trim() !== node.name) void save({ name: name.trim() });
              }}
            >
              <div className="setting-text">
                <label htmlFor="node-name" className="setting-label">
                  Name on the network
                </label>
                <p className="setting-hint">What people nearby see next to your streams.</p>
              </div>
              <div className="inline-form">
                <input id="node-name" className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} />
                <button type="submit" className="button" disabled={!name.trim() || name.trim() === node.name}>
                  Save
                </button>
              </div>
            </form>
            {status ? (
              <div className="setting-row">
                <div className="setting-text">
                  <span className="setting-label">Data folder</span>
                  <p className="setting-hint mono">{status.dataDir}</p>
                </div>
              </div>
            ) : null}
          </section>
          <NotificationsSection />
          <StreamsSection />
          <section className="card settings-section" aria-labelledby="network">
            <h2 id="network">Network</h2>
            <SettingSwitch
              id="discovery"
              label="Find streams nearby"
              hint="Announce your streams on this network and list the ones around you."
              checked={node.discovery}
              onChange={(v) => void save({ discovery: v })}
            />
            <SettingSwitch
              id="serve-followed"
              label="Share streams you follow"
              hint="Others nearby can fetch them from you too; every copy helps a stream travel."
              checked={node.serveFollowed}
              onChange={(v) => void save({ serveFollowed: v })}
            />
            <SettingSwitch
              id="dht"
              label="Reach beyond this network"
              hint="Find followed streams on the internet through the public BitTorrent DHT; anyone there can see this computer's address beside the streams you make findable."
              checked={node.dht}
              onChange={(v) => void save({ dht: v })}
            />
            {node.dht ? (
              <SettingSwitch
                id="port-mapping"
                label="Ask the router to open a port"
                hint="So that computers on the internet can fetch from this one; the router forwards it until Drayer stops (UPnP, NAT-PMP or PCP)."
                checked={node.portMapping}
                onChange={(v) => void save({ portMapping: v })}
              />
            ) : null}
            <RouterLine />
            <div className="setting-row">
              <div className="setting-text">
                <span className="setting-label" id="sync-mode-label">
                  Sync
                </span>
                <p className="setting-hint" id="sync-mode-hint">
                  {SYNC_MODES.find((m) => m.value === node.syncMode)?.hint}
                </p>
              </div>
              <div className="segmented" role="radiogroup" aria-labelledby="sync-mode-label" aria-describedby="sync-mode-hint">
                {SYNC_MODES.map((m) => (
                  <button
                    key={m.value}
                    type="button"
                    role="radio"
                    aria-checked={node.syncMode === m.value}
                    className={node.syncMode === m.value ? 'segment active' : 'segment'}
                    onClick={() => node.syncMode !== m.value && void save({ syncMode: m.value })}
                  >
                    {m.label}
                  </button>
                ))}
              </div>
            </div>
            <div className="setting-row">
              <div className="setting-text">
                <label htmlFor="interval" className="setting-label">
                  Check for new posts
                </label>
                <p className="setting-hint">Nearby streams also tell you at once when they post.</p>
              </div>
              <select id="interval" className="select" value={node.syncIntervalS} onChange={(e) => void save({ syncIntervalS: Number(e.target.value) })}>
                {intervals.map((i) => (
                  <option key={i.s} value={i.s}>
                    {i.label}
                  </option>
                ))}
              </select>
            </div>
            {status ? (
              <div className="setting-row">
                <div className="setting-text">
                  <span className="setting-label">Serving</span>
                  <p className="setting-hint">
                    {status.lan
                      ? `On port ${status.lan.port}${status.discovery ? `, ${status.peers} ${status.peers === 1 ? 'computer' : 'computers'} nearby` : ''}`
                      : 'Not serving on the network'}
                  </p>
                </div>
              </div>
            ) : null}
          </section>
        </>
      ) : null}
    </>
  );
}
