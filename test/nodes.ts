// Real nodes for tests that talk between them over HTTP on 127.0.0.1: no discovery (nothing may
// multicast outside a private namespace), no auto-sync (each test syncs when it says), each in a
// fresh folder removed when the test file ends.
import { DrayerNode } from '../app/node/node.js';
import { tmpDir } from './helpers.js';

export const startNode = (dataDir: string = tmpDir('drayer-node-')): Promise<DrayerNode> =>
  DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });

/** `count` such nodes, started together. */
export const startNodes = (count: number): Promise<DrayerNode[]> => Promise.all(Array.from({ length: count }, () => startNode()));

/** The address a follower pulls from. */
export const urlOf = (n: DrayerNode): string => `http://127.0.0.1:${n.lanAddress()!.port}`;
