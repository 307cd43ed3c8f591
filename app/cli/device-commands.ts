// `drayer device`: one stream on several devices (DESIGN §9). A new device makes an empty copy of
// the stream with a key pair of its own (init); a device holding the stream's key lists it in the
// stream's drayer/siblings record (add), lists the devices (ls) and removes one (rm).
import { DrayerError } from '../core/errors.js';
import { formatKey, keyWords, parseKey } from '../core/keys.js';
import { terminalSafe } from '../core/text.js';
import { withStream } from './input.js';
import { note, print, printJson, timeOf } from './output.js';
import { type Command, commands, str, UsageError } from './table.js';

const USAGE = 'device init FILE --for KEY|READLINK  |  device add FILE DEVICE_KEY [--name N]  |  device ls FILE [--json]  |  device rm FILE DEVICE_KEY';

function deviceKey(text: string | undefined): Uint8Array {
  if (!text) throw new UsageError('device add and device rm need the device key that drayer device init printed.', commands.get('device'));
  try {
    return parseKey(text);
  } catch (e) {
    throw new DrayerError('INVALID_ARGUMENT', `${(e as Error).message} The device key is what drayer device init printed on the new device.`);
  }
}

export const deviceCommand: Command = {
  name: 'device',
  usage: USAGE,
  summary: 'write one stream from several devices (pair, list and remove devices)',
  details:
    'On the new device, `drayer device init FILE --for KEY` makes an empty copy of stream KEY with a key pair of its own\n' +
    "(FILE.devicekey) and prints the device key. On a device holding the stream's secret key, `drayer device add`\n" +
    'lists it in the stream (the drayer/siblings record). The new device then syncs (drayer sync FILE URL) and posts\n' +
    'into its own chain; every copy shows one stream. `drayer device rm` ends a device: its records after the newest\n' +
    'one this copy holds are refused by every mirror, its earlier ones stay.',
  options: { for: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
  positionals: [2, 3],
  async run({ args: [sub, file, key], opts }) {
    if (sub === 'init') return init(file!, opts.for, str(opts, 'name'));
    if (sub === 'add')
      return withStream(file!, (s) => {
        const pk = deviceKey(key);
        s.addDevice(pk, str(opts, 'name'));
        note(`${file} now lists device ${formatKey(pk)}${str(opts, 'name') ? ` (${str(opts, 'name')})` : ''}. It can sync and post now.`);
      });
    if (sub === 'rm')
      return withStream(file!, (s) => {
        const pk = deviceKey(key);
        s.removeDevice(pk);
        note(`Removed device ${formatKey(pk)}: its records after the newest one this copy holds are refused everywhere; earlier ones stay.`);
      });
    if (sub === 'ls')
      return withStream(file!, (s) => {
        const { list, mine } = s.devices();
        const rows = list.map((d) => ({
          key: formatKey(d.pubkey),
          name: d.name ?? '',
          from: d.from,
          to: d.to,
          removed: d.to !== 0,
          records: s.db.prepare('SELECT count(*) FROM records WHERE chain = ?').pluck().get(Buffer.from(d.pubkey)) as number,
          thisCopy: mine !== null && Buffer.from(mine).equals(Buffer.from(d.pubkey)),
        }));
        if (opts.json === true) return printJson({ file, device: mine ? formatKey(mine) : null, devices: rows });
        if (rows.length === 0) print("No devices: only the stream's own key writes it.");
        for (const r of rows) {
          const state = r.removed ? `removed (records up to ${timeOf(r.to)} stay)` : `since ${timeOf(r.from)}`;
          print(`${r.key}  ${terminalSafe(r.name || '-')}  ${state}  ${r.records} records here${r.thisCopy ? '  (this copy)' : ''}`);
        }
        if (mine && !rows.some((r) => r.thisCopy))
          note(`This copy's device key ${formatKey(mine)} is not listed yet: run drayer device add on a device holding the stream's key.`);
      });
    throw new UsageError(`Unknown device command "${sub}"; use init, add, ls or rm.`, commands.get('device'));
  },
};

async function init(file: string, forKey: unknown, name: string | undefined): Promise<void> {
  if (typeof forKey !== 'string') throw new UsageError('device init needs --for KEY, the key of the stream this device will write to.', commands.get('device'));
  // a private stream's read link (drayer:KEY#r=READKEY) gives the device the read key too (§9: a sibling reads what it writes)
  const { parseReadLink, ReadKey, writeReadKeyFile } = await import('../store/private-view.js');
  const link = parseReadLink(forKey);
  const pk = link.publicKey;
  const readKey = link.readKey ? await ReadKey.from(link.readKey) : null;
  const { Stream, writeKeyFile } = await import('../store/store.js');
  const { devicePathFor } = await import('../store/devices.js');
  const { generateKeyPair } = await import('../core/crypto.js');
  const s = Stream.create(file, { followKey: pk });
  try {
    if (name) s.setMeta('deviceName', name);
    const kp = generateKeyPair();
    writeKeyFile(devicePathFor(file), kp);
    if (readKey) writeReadKeyFile(file, readKey); // checked against the stream at the first sync's first read
    print(formatKey(kp.publicKey));
    print(keyWords(kp.publicKey));
    note(
      `Made ${file}, an empty copy of ${formatKey(pk)} for this device; its own key is in ${devicePathFor(file)} (keep it private). ` +
        `On a device holding the stream's key run: drayer device add STREAM_FILE ${formatKey(kp.publicKey)}${name ? ` --name ${JSON.stringify(name)}` : ''}; then here: drayer sync ${file} URL.`,
    );
  } finally {
    s.close();
  }
}
