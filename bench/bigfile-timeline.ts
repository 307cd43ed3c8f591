// A diagnostic timeline for `bench bigfile` (BENCH_TIMELINE=1): every 250 ms, the bytes a round has
// moved, the follower's WAL and database size, the kernel's dirty and writeback page counts
// (/proc/meminfo), both processes' CPU and the load, printed to stderr as one line per sample, so a
// round that falls behind shows where: a checkpoint, writeback of an earlier round, or the CPU.
import * as fs from 'node:fs';
import * as os from 'node:os';

const MiB = 1024 * 1024;
const PERIOD_MS = 250;

function meminfo(): { dirty: number; writeback: number } {
  try {
    const t = fs.readFileSync('/proc/meminfo', 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0) / 1024;
    return { dirty: kb('Dirty'), writeback: kb('Writeback') };
  } catch {
    return { dirty: 0, writeback: 0 };
  }
}

const size = (f: string) => fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0;

/** CPU seconds of a process from /proc (0 when gone). */
function procCpu(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

export class Timeline {
  private readonly on = process.env.BENCH_TIMELINE === '1';
  private timer: NodeJS.Timeout | undefined;
  private label = 'idle';
  private t0 = performance.now();
  private phaseStart = 0;
  /** bytes the current phase has moved, as it tells (or null: `file` is measured) */
  progress = 0;
  private file: string | null = null;
  private last = { t: 0, bytes: 0, cpu: 0, server: 0 };
  private serverPid: number | undefined;
  /** true while a checkpoint is under way, if the phase can tell */
  checkpointing: () => boolean = () => false;

  start(): void {
    if (!this.on) return;
    this.t0 = performance.now();
    this.timer = setInterval(() => this.sample(), PERIOD_MS);
    console.error('timeline: t_s phase phase_s MiB MiB/s wal_MiB db_MiB dirty_MiB writeback_MiB cpu_self cpu_server ckpt load1');
  }

  /** A new phase: `file` is the follower's stream (its WAL is sampled) or the download's path. */
  phase(label: string, file: string | null, serverPid?: number): void {
    if (!this.on) return;
    this.sample();
    this.label = label;
    this.file = file;
    this.progress = 0;
    this.serverPid = serverPid;
    this.phaseStart = performance.now();
    this.checkpointing = () => false;
    this.last = { t: performance.now(), bytes: 0, cpu: cpuSelf(), server: procCpu(serverPid) };
  }

  private sample(): void {
    const now = performance.now();
    const isStream = this.file?.endsWith('.stream') ?? false;
    const bytes = this.file && !isStream ? size(this.file) : this.progress;
    const dt = (now - this.last.t) / 1000 || 1e-9;
    const cpu = cpuSelf();
    const server = procCpu(this.serverPid);
    const m = meminfo();
    const r = (n: number) => Math.round(n * 10) / 10;
    console.error(
      [
        'timeline:',
        r((now - this.t0) / 1000),
        this.label,
        r((now - this.phaseStart) / 1000),
        r(bytes / MiB),
        r((bytes - this.last.bytes) / MiB / dt),
        isStream ? r(size(this.file + '-wal') / MiB) : '-',
        isStream ? r(size(this.file!) / MiB) : '-',
        r(m.dirty),
        r(m.writeback),
        Math.round(((cpu - this.last.cpu) / dt) * 100) + '%',
        Math.round(((server - this.last.server) / dt) * 100) + '%',
        this.checkpointing() ? 'C' : '-',
        os.loadavg()[0]!.toFixed(2),
      ].join(' '),
    );
    this.last = { t: now, bytes, cpu, server };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function cpuSelf(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

/**
 * Always on, for every timed round: the MiB/s of its first and second half (does a long transfer
 * slow down as it goes?), the time to its first file byte, and the most dirty and under-writeback memory the kernel held meanwhile
 * (sampled every 100 ms).
 */
export function roundWatch(totalBytes: number) {
  const t0 = performance.now();
  let half = 0;
  let first = 0;
  let peak = meminfo();
  const t = setInterval(() => {
    const m = meminfo();
    peak = { dirty: Math.max(peak.dirty, m.dirty), writeback: Math.max(peak.writeback, m.writeback) };
  }, 100);
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    /** bytes moved so far */
    seen(bytes: number): void {
      if (!first && bytes > 0) first = performance.now();
      if (!half && bytes >= totalBytes / 2) half = performance.now();
    },
    stop() {
      clearInterval(t);
      const end = performance.now();
      const mib = totalBytes / 2 / MiB;
      const halves = half ? [r(mib / ((half - t0) / 1000)), r(mib / ((end - half) / 1000))] : null;
      return { halves, firstByteMs: first ? Math.round(first - t0) : null, peakDirtyMib: r(peak.dirty), peakWritebackMib: r(peak.writeback) };
    },
  };
}
