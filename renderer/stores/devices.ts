// Devices (DESIGN §9): the devices each stream lists, as the stream page shows them, and the
// actions that add, remove, and join a stream as a device of it.
import { create } from 'zustand';
import { transport } from '../api';
import type { DevicesView, JoinedDevice, PairingCode } from '../../app/node/api';
import { useStreams } from './streams';
import { messageOf } from './errors';

/** The join in the dialog: kept here, since the app swaps its first-run screen for Home (and remounts the dialog) once the stream arrives. */
export interface Joining {
  busy: boolean;
  error?: string;
  joined?: { publicKey: string; name: string; code: PairingCode };
}

interface DevicesState {
  byKey: Record<string, DevicesView>;
  joining: Joining;
  /** the dialog closed: a next one starts afresh */
  resetJoin(): void;
  load(publicKey: string): Promise<DevicesView>;
  add(publicKey: string, device: string, name?: string): Promise<DevicesView>;
  remove(publicKey: string, device: string): Promise<DevicesView>;
  /** on this computer: an empty copy of stream `key` with a device key of its own (joinAsDevice) */
  join(key: string, url?: string, name?: string): Promise<JoinedDevice>;
  /** while waiting to be added: fetch the stream (the owner's list comes with it), then read the list again */
  check(publicKey: string): Promise<DevicesView>;
}

export const useDevices = create<DevicesState>((set, get) => {
  const keep = (publicKey: string, v: DevicesView): DevicesView => {
    set((s) => ({ byKey: { ...s.byKey, [publicKey]: v } }));
    return v;
  };
  return {
    byKey: {},
    joining: { busy: false },
    resetJoin: () => set({ joining: { busy: false } }),
    load: async (publicKey) => keep(publicKey, await transport().call('listDevices', { publicKey })),
    add: async (publicKey, device, name) => keep(publicKey, await transport().call('addDevice', { publicKey, device, ...(name ? { name } : {}) })),
    remove: async (publicKey, device) => keep(publicKey, await transport().call('removeDevice', { publicKey, device })),
    join: async (key, url, name) => {
      set({ joining: { busy: true } });
      try {
        const j = await transport().call('joinAsDevice', { key, ...(url ? { url } : {}), ...(name ? { name } : {}) });
        keep(j.stream.publicKey, await transport().call('listDevices', { publicKey: j.stream.publicKey }));
        set({ joining: { busy: false, joined: { publicKey: j.stream.publicKey, name: j.stream.name, code: j } } });
        await useStreams.getState().load();
        return j;
      } catch (e) {
        set({ joining: { busy: false, error: messageOf(e) } });
        throw e;
      }
    },
    check: async (publicKey) => {
      await transport()
        .call('syncNow', { publicKey })
        .catch(() => []); // nobody reachable just now: asked again on the next check
      const v = await get().load(publicKey);
      if (v.mine?.state === 'listed') await useStreams.getState().load(); // the composer offers it now
      return v;
    },
  };
});
