// Benchmark of big files: add a 1 GiB file to a stream and read it back, against a plain
// fs copy of the same file measured in the same run, with the peak RSS growth of each phase.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Stream } from '../app/store/store.js';
import { addFile, openFileStream } from '../app/store/files.js';
import { devNull, makeFile, rssSampler } from './common.js';

const MiB = 1024 * 1024;

const round = (n: number) => Math.round(n * 10) / 10;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export async function run(opts: { mib?: number } = {}): Promise<Record<string, unknown>> {
  const mib = opts.mib ?? Number(process.env.BENCH_FILE_MIB ?? 1024);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drayer-bench-file-'));
  try {
    const src = path.join(dir, 'big.bin');
    await makeFile(src, mib);

    // Baselines: a plain streamed copy of the same file (userland, like ours; copyFile may reflink),
    // without and with an fsync at the end (SQLite's checkpoints make a stream's writes durable).
    const copy = path.join(dir, 'copy.bin');
    let t = performance.now();
    await pipeline(fs.createReadStream(src, { highWaterMark: MiB }), fs.createWriteStream(copy));
    const fsCopy = mib / ((performance.now() - t) / 1000);
    const fd = fs.openSync(copy, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const fsCopySynced = mib / ((performance.now() - t) / 1000);
    fs.rmSync(copy);

    t = performance.now();
    await pipeline(fs.createReadStream(src, { highWaterMark: MiB }), devNull());
    const fsRead = mib / ((performance.now() - t) / 1000);

    const s = Stream.create(path.join(dir, 'bench.stream'));
    try {
      global.gc?.();
      let rss = rssSampler();
      t = performance.now();
      await addFile(s, 'big.bin', src);
      const addS = (performance.now() - t) / 1000;
      const addRss = rss.stop();

      global.gc?.();
      rss = rssSampler();
      t = performance.now();
      await pipeline(openFileStream(s, 'big.bin'), devNull());
      const readS = (performance.now() - t) / 1000;
      const readRss = rss.stop();

      const add = mib / addS;
      const read = mib / readS;
      const streamMib = fs.statSync(s.file).size / MiB;
      s.close();

      // Diagnostic: the same add with the stream on a RAM disk (Linux /dev/shm) shows the code
      // path's own speed; the gap to add_mib_s is the disk writing two durable copies (WAL, then db).
      let addRamDisk: number | null = null;
      if (fs.existsSync('/dev/shm') && os.freemem() > mib * MiB * 3) {
        const shm = fs.mkdtempSync('/dev/shm/drayer-bench-file-');
        try {
          const n = Stream.create(path.join(shm, 'ram.stream'));
          t = performance.now();
          await addFile(n, 'big.bin', src);
          addRamDisk = round(mib / ((performance.now() - t) / 1000));
          n.close();
        } finally {
          fs.rmSync(shm, { recursive: true, force: true });
        }
      }

      return {
        bench: 'file',
        file_mib: mib,
        add_mib_s: round(add),
        read_mib_s: round(read),
        fs_copy_mib_s: round(fsCopy),
        fs_copy_fsync_mib_s: round(fsCopySynced),
        fs_read_mib_s: round(fsRead),
        ratio_add_to_fs_copy_fsync: ratio(add, fsCopySynced),
        ratio_add_to_fs_copy: ratio(add, fsCopy),
        ratio_read_to_fs_copy: ratio(read, fsCopy),
        ratio_read_to_fs_read: ratio(read, fsRead),
        peak_rss_growth_mib: round(Math.max(addRss, readRss)),
        add_peak_rss_growth_mib: round(addRss),
        read_peak_rss_growth_mib: round(readRss),
        add_stream_on_ram_disk_mib_s: addRamDisk,
        stream_file_mib: round(streamMib),
      };
    } finally {
      s.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await run();
  console.log(JSON.stringify(result));
}
