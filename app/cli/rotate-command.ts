// `drayer rotate FILE`: a private stream sealed again under a new read key (store/private-rotate.ts).
// What that means is said first, in one sentence; then it asks (at a terminal) or needs --yes.
import * as readline from 'node:readline/promises';
import { DrayerError } from '../core/errors.js';
import { withView } from './input.js';
import { note, print, printJson } from './output.js';
import type { Command } from './table.js';

async function confirmed(): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Rotate the read key now? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

export const rotateCommand: Command = {
  name: 'rotate',
  usage: 'rotate FILE [--yes] [--json]',
  summary: 'give a private stream a new read key (holders of the old read link read nothing new); prints the new read link',
  options: { yes: { type: 'boolean' }, json: { type: 'boolean' } },
  positionals: [1, 1],
  async run({ args: [file], opts }) {
    const { devicesNote, ROTATE_MEANING, rotateReadKey } = await import('../store/private-rotate.js');
    const { readLink } = await import('../store/private-view.js');
    note(ROTATE_MEANING);
    if (!opts.yes && !(await confirmed())) throw new DrayerError('CANCELLED', `Nothing was changed. To rotate, run "drayer rotate ${file} --yes".`);
    await withView(file!, async (v) => {
      const r = await rotateReadKey(v);
      const link = readLink(v.stream.publicKey, r.readKey.bytes);
      if (opts.json) return printJson({ readLink: link, records: r.records, files: r.files, deviceRecords: r.deviceRecords });
      print(link);
      note(
        `Rotated: ${r.records} records sealed again${r.files ? ` (${r.files} big files among them)` : ''}. Send the new read link above to everyone who should keep reading.`,
      );
      if (r.deviceRecords) note(devicesNote(r.deviceRecords));
    });
  },
};
