// Running nodes for the device tests (DESIGN §9): a node on 127.0.0.1 without discovery, its URL,
// and a stream of A with B added as its device.
import type { DrayerNode } from '../app/node/node.js';

export { startNode } from './nodes.js';

export async function urlOf(x: DrayerNode): Promise<string> {
  const lan = (await x.call('status', undefined)).lan!;
  return `http://${lan.host}:${lan.port}`;
}

/** A new stream of A (private or not) with B joined and added as its device, B synced: its key. */
export async function paired(a: DrayerNode, b: DrayerNode, name: string, priv: boolean): Promise<string> {
  const pk = (await a.call('createStream', { name, private: priv })).publicKey;
  const key = priv ? (await a.call('streamDetails', { publicKey: pk })).readLink! : pk;
  const joined = await b.call('joinAsDevice', { key, url: await urlOf(a), name: 'laptop' });
  await a.call('addDevice', { publicKey: pk, device: joined.code });
  await b.call('syncNow', { publicKey: pk });
  return pk;
}
