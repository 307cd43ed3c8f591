// "Reach beyond this network": one line under the switch on what the router said when asked to
// forward this computer's port (status.portMapping: mapped, no router answered, refused). Asked
// again every few seconds while the answer is coming, then now and then (leases are renewed).
import { useEffect, useState } from 'react';
import type { NodeStatus } from '../api/transport';
import { transport } from '../api';
import { Icon, type IconName } from '../components/Icon';
import { useSettings } from '../stores/settings';

type PortMapping = NonNullable<NodeStatus['portMapping']>;

/** The line for a state, in plain words, with its icon and tone. */
export function routerLine(
  pm: PortMapping | null | undefined,
  port: number | undefined,
  asked = true,
): { text: string; icon: IconName; tone: 'ok' | 'muted' | 'warn' } {
  const p = port ?? 'its';
  if (!pm && !asked) return { text: 'This computer does not ask the router to open a port.', icon: 'globe', tone: 'muted' };
  if (!pm)
    return { text: 'No port is opened on the router: this computer serves only itself, or was started without port mapping.', icon: 'globe', tone: 'muted' };
  switch (pm.state) {
    case 'searching':
      return { text: 'Asking the router to open a port…', icon: 'sync', tone: 'muted' };
    case 'mapped': {
      const tcp = pm.ports.find((x) => x.protocol === 'TCP');
      const at = pm.externalAddress && tcp ? `${pm.externalAddress}:${tcp.externalPort}` : null;
      return at
        ? { text: `Open to the internet at ${at} (the router forwards it, ${pm.via}).`, icon: 'check', tone: 'ok' }
        : { text: `The router forwards port ${tcp?.externalPort ?? p} (${pm.via}); it did not say its internet address.`, icon: 'check', tone: 'ok' };
    }
    case 'no-router':
      return {
        text: `No router answered: others on the internet reach this computer only if port ${p} is forwarded to it by hand.`,
        icon: 'alert',
        tone: 'warn',
      };
    case 'refused':
      return { text: `The router refused to open port ${p}: ${pm.message}.`, icon: 'alert', tone: 'warn' };
  }
}

export function RouterLine() {
  const initial = useSettings((s) => s.status);
  const [status, setStatus] = useState<NodeStatus | null>(initial);
  useEffect(() => setStatus(initial), [initial]);
  // in the DHT by the setting, or for this run (`drayer serve --dht`)
  const on = useSettings((s) => s.node?.dht === true) || !!status?.dht;
  const asked = useSettings((s) => s.node?.portMapping !== false);
  const state = status?.portMapping?.state;
  useEffect(() => {
    if (!on) return;
    let live = true;
    const t = setTimeout(
      () =>
        void transport()
          .call('status', undefined)
          .then((s) => live && setStatus(s))
          .catch(() => {}),
      state === 'searching' || !status?.dht ? 1500 : 30_000,
    );
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [on, state, status]);
  if (!on || !status?.dht) return null;
  const line = routerLine(status.portMapping, status.lan?.port, asked);
  return (
    <p className={`reach-status reach-${line.tone}`} id="reach-status" role="status">
      <Icon name={line.icon} size={16} />
      <span dir="auto">{line.text}</span>
    </p>
  );
}
