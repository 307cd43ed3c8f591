// `npm start` (scripts/start.js, with scripts/electron-binary.js) as a person runs it, in real child
// processes: it launches Electron where a binary is or can be fetched (a stand-in executable here,
// which records how it was started), fetching it from a mirror on 127.0.0.1 with its progress
// shown, and serves the web UI with one line saying why when no binary can be had (skipped, an
// unreachable mirror, a download that fails its checksum or breaks off), leaving nothing half
// downloaded. Each test uses its own copy of the electron package (DRAYER_ELECTRON_PACKAGE), so it
// never touches node_modules/electron nor launches a real Electron that may be installed there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START = path.join(ROOT, 'scripts', 'start.js');
const ELECTRON_PKG = path.join(ROOT, 'node_modules', 'electron');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ELECTRON_PKG, 'package.json'), 'utf8')) as { version: string }).version;
const LINK = 'drayer:' + 'A'.repeat(43);
const win = process.platform === 'win32';

/** The executable's place in Electron's zip and dist folder (what electron's install.js writes to path.txt). */
const EXE = process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : win ? 'electron.exe' : 'electron';

interface Sandbox {
  dir: string;
  /** the copy of the electron package start.js is pointed at */
  pkg: string;
  cache: string;
  tmp: string;
  env: NodeJS.ProcessEnv;
}

/** A copy of the electron package without any binary, an empty download cache and temp dir. */
function sandbox(): Sandbox {
  const dir = tmpDir('drayer-start-');
  const pkg = path.join(dir, 'electron');
  fs.mkdirSync(pkg);
  for (const f of ['package.json', 'checksums.json', 'index.js', 'install.js']) fs.copyFileSync(path.join(ELECTRON_PKG, f), path.join(pkg, f));
  const cache = path.join(dir, 'cache');
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(cache);
  fs.mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(ELECTRON_|electron_|npm_config_electron|DRAYER_)/i.test(k)) delete env[k];
  Object.assign(env, {
    DRAYER_ELECTRON_PACKAGE: pkg,
    electron_config_cache: cache,
    TMPDIR: tmp,
    TMP: tmp,
    TEMP: tmp,
    DRAYER_NO_BROWSER: '1',
    ELECTRON_GET_NO_PROGRESS: '1',
  });
  return { dir, pkg, cache, tmp, env };
}

/** What is in a folder, recursively, as relative paths. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

/**
 * A stand-in for Electron at `file`: records its arguments and some of its environment in
 * `out` and exits with 3. A script run by this Node on POSIX; on Windows, which starts only .exe
 * files, a copy of node.exe told by NODE_OPTIONS to run the recorder first.
 */
function standIn(file: string, out: string): NodeJS.ProcessEnv {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const record = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ argv: process.argv.slice(${win ? 1 : 2}), runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null })); process.exit(3);`;
  if (!win) {
    fs.writeFileSync(file, `#!${process.execPath}\n${record}\n`, { mode: 0o755 });
    return {};
  }
  fs.copyFileSync(process.execPath, file);
  const recorder = path.join(path.dirname(out), 'recorder.cjs');
  // Only in the stand-in: start.js runs on the same NODE_OPTIONS.
  fs.writeFileSync(recorder, `if (require('path').basename(process.execPath).toLowerCase() === 'electron.exe') { ${record} }\n`);
  return { NODE_OPTIONS: `--require ${JSON.stringify(recorder)}` };
}

interface Run {
  stdout: string;
  /** stderr: when `until` was given, as it was when `until` matched (before the node was stopped) */
  stderr: string;
  code: number | null;
}

/** node scripts/start.js ARGS; resolves when it exits, or when `until` matches its stdout (then stops it). */
async function start(args: string[], env: NodeJS.ProcessEnv, until?: RegExp, onMatch?: (m: RegExpExecArray) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [START, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    if (until) {
      const m = await new Promise<RegExpExecArray | null>((resolve) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          const hit = until.exec(stdout);
          if (hit) resolve(hit);
        });
        void exited.then(() => resolve(null));
      });
      assert.ok(m, `start.js exited before printing ${until}:\n${stdout}\n${stderr}`);
      const said = stderr;
      await onMatch?.(m);
      child.kill('SIGTERM');
      const code = await exited;
      return { stdout, stderr: said, code };
    } else {
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    }
    const code = await exited;
    return { stdout, stderr, code };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

const WEB_UI = /Web UI: (http:\/\/127\.0\.0\.1:\d+\/\?code=[\w-]+)/;

/** Runs start.js expecting the web UI: its link signs a browser in once. */
async function expectWebUi(s: Sandbox): Promise<Run> {
  const data = path.join(s.dir, 'data');
  return start(['--data', data, '--host', '127.0.0.1', '--port', '0', '--no-discovery'], s.env, WEB_UI, async (m) => {
    const res = await fetch(m[1]!, { redirect: 'manual' });
    assert.equal(res.status, 303, 'the one-time link signs in');
    assert.match(String(res.headers.get('set-cookie')), /HttpOnly/);
  });
}

/** The lines start.js wrote to stderr before the node's own output, without blank ones. */
const lines = (s: string): string[] => s.split(/\r?\n/).filter((l) => l.trim() !== '');

/** A closed port on 127.0.0.1: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** CRC-32 as zip wants it (node:zlib has one only from Node 20.15). */
function crc32(b: Buffer): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A zip with stored (uncompressed) entries and their Unix modes, as Electron's own zips carry them. */
function zip(entries: { name: string; data?: Buffer; mode: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by Unix: the external attributes hold the mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode << 16) | (e.name.endsWith('/') ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Electron's zip as far as start.js cares: the executable (a stand-in recording to `out`) and `version`. */
function fakeElectronZip(out: string): Buffer {
  const scratch = tmpDir('drayer-zip-');
  standIn(path.join(scratch, EXE), out);
  const entries: { name: string; data?: Buffer; mode: number }[] = [];
  const parts = EXE.split('/');
  for (let i = 1; i < parts.length; i++) entries.push({ name: parts.slice(0, i).join('/') + '/', mode: 0o40755 });
  entries.push({ name: EXE, data: fs.readFileSync(path.join(scratch, EXE)), mode: 0o100755 });
  entries.push({ name: 'version', data: Buffer.from(VERSION), mode: 0o100644 });
  // bulk, so the download has steps of progress to show
  entries.push({ name: 'resources.pak', data: Buffer.alloc(2_000_000, 7), mode: 0o100644 });
  return zip(entries);
}

/**
 * A mirror of Electron's releases on 127.0.0.1 (what ELECTRON_MIRROR names): the zip for this
 * platform, and SHASUMS256.txt for it. `cutAfter` breaks the zip's answer off after so many bytes.
 */
async function mirror(body: Buffer, opts: { cutAfter?: number } = {}): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  let zipName = '';
  const srv = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const file = path.basename(req.url ?? '');
    if (file === 'SHASUMS256.txt') {
      // asked for after the zip, to check it
      res.end(`${createHash('sha256').update(body).digest('hex')} *${zipName}\n`);
      return;
    }
    if (!file.endsWith('.zip')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    zipName = file;
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length });
    if (opts.cutAfter === undefined) {
      // In pieces, so the progress has steps to show.
      const step = Math.ceil(body.length / 8);
      let at = 0;
      const next = (): void => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, at + step), () => setTimeout(next, 5));
        at += step;
      };
      next();
    } else {
      res.write(body.subarray(0, opts.cutAfter), () => setTimeout(() => res.destroy(), 50));
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Nothing of a download is left: the package as copied, no zip in the cache, nothing in the temp dir. */
function assertNothingLeft(s: Sandbox): void {
  assert.deepEqual(tree(s.pkg), ['checksums.json', 'index.js', 'install.js', 'package.json'], 'no binary, path.txt or partial folder in the electron package');
  assert.deepEqual(tree(s.cache), [], 'nothing cached');
  assert.deepEqual(
    tree(s.tmp).filter((f) => !f.startsWith('drayer-')),
    [],
    'no temporary download left',
  );
}

test('with ELECTRON_OVERRIDE_DIST_PATH naming a binary, npm start launches it on the app with a drayer: link passed through', async () => {
  const s = sandbox();
  const dist = path.join(s.dir, 'override');
  const out = path.join(s.dir, 'argv.json');
  const extra = standIn(path.join(dist, EXE), out);
  const r = await start([LINK], { ...s.env, ...extra, ELECTRON_OVERRIDE_DIST_PATH: dist, ELECTRON_RUN_AS_NODE: '1' });
  assert.equal(r.code, 3, `start.js waits for the app and exits with its code\n${r.stderr}`);
  const got = JSON.parse(fs.readFileSync(out, 'utf8')) as { argv: string[]; runAsNode: string | null };
  assert.deepEqual(got.argv, [ROOT, LINK], 'the app folder (its package.json names dist/main/index.js), then the link');
  assert.equal(got.runAsNode, null, 'ELECTRON_RUN_AS_NODE would turn the app into a plain Node');
  assert.deepEqual(lines(r.stderr), [], 'nothing to say when the binary is there');
  assertNothingLeft(s);
});

test('with ELECTRON_OVERRIDE_DIST_PATH naming nothing, it says so and serves the web UI', async () => {
  const s = sandbox();
  s.env.ELECTRON_OVERRIDE_DIST_PATH = path.join(s.dir, 'nowhere');
  const r = await expectWebUi(s);
  const said = lines(r.stderr);
  assert.equal(said.length, 1, r.stderr);
  assert.match(said[0]!, /^ELECTRON_OVERRIDE_DIST_PATH names no Electron binary \(.*nowhere.*\): serving the same UI from a headless node instead\.$/);
});

test('with ELECTRON_SKIP_BINARY_DOWNLOAD set, it fetches nothing, says why in one line and serves the web UI', async () => {
  const s = sandbox();
  const m = await mirror(Buffer.from('never asked for'));
  try {
    Object.assign(s.env, { ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ELECTRON_MIRROR: m.url });
    const r = await expectWebUi(s);
    assert.deepEqual(lines(r.stderr), ['No Electron binary here, and ELECTRON_SKIP_BINARY_DOWNLOAD is set: serving the same UI from a headless node instead.']);
    assert.deepEqual(m.hits, [], 'no request');
    assertNothingLeft(s);
  } finally {
    await m.close();
  }
});

test('with the mirror unreachable, it says it tried and why it failed, serves the web UI, and leaves nothing behind', async () => {
  const s = sandbox();
  // a download an earlier start left when it was killed: its process is gone
  const stale = path.join(s.pkg, '.drayer-download-2147483646-x');
  fs.mkdirSync(stale);
  fs.writeFileSync(path.join(stale, 'electron'), 'half a binary');
  s.env.ELECTRON_MIRROR = `http://127.0.0.1:${await closedPort()}/`;
  const r = await expectWebUi(s);
  const said = lines(r.stderr);
  assert.equal(said.length, 2, r.stderr);
  assert.match(said[0]!, new RegExp(`^Downloading Electron ${VERSION.replace(/\./g, '\\.')} for ${process.platform}-`));
  assert.match(
    said[1]!,
    /^Electron could not be downloaded \(fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+\): serving the same UI from a headless node instead\.$/,
  );
  assertNothingLeft(s);
});

test('a download that fails its checksum, or breaks off, is thrown away: the web UI instead, nothing half downloaded', async () => {
  const body = fakeElectronZip(path.join(tmpDir(), 'never.json'));
  for (const variant of ['checksum', 'cut'] as const) {
    const s = sandbox();
    // checksum: the package's own checksums.json, which this zip cannot match
    const m = await mirror(body, variant === 'cut' ? { cutAfter: Math.floor(body.length / 2) } : {});
    try {
      s.env.ELECTRON_MIRROR = m.url;
      const r = await expectWebUi(s);
      const said = lines(r.stderr);
      assert.match(said[0]!, /^Downloading Electron /);
      const last = said[said.length - 1]!;
      if (variant === 'checksum') {
        assert.ok(
          said.some((l) => /^Downloading Electron [\d.]+: 100% /.test(l)),
          `the progress was shown: ${r.stderr}`,
        );
        assert.match(last, /^Electron could not be downloaded \(.*checksum.*\): serving the same UI/i);
      } else {
        assert.match(last, /^Electron could not be downloaded \(.+\): serving the same UI/);
      }
      assert.ok(
        m.hits.some((h) => h.endsWith('.zip')),
        'it asked the mirror',
      );
      assertNothingLeft(s);
    } finally {
      await m.close();
    }
  }
});

test(
  'where it can be fetched, it downloads Electron with its progress, checks it, puts it in place and launches it; the next start just launches',
  { skip: win ? 'a stand-in inside a zip is a script here, and Windows starts only .exe files (the override test covers launching on Windows)' : false },
  async () => {
    const s = sandbox();
    const out = path.join(s.dir, 'argv.json');
    const m = await mirror(fakeElectronZip(out));
    try {
      // this zip is not Electron's: its checksum comes from the mirror, as electron_use_remote_checksums asks
      Object.assign(s.env, { ELECTRON_MIRROR: m.url, electron_use_remote_checksums: '1' });
      const r = await start([LINK], s.env);
      assert.equal(r.code, 3, r.stderr);
      const said = lines(r.stderr);
      assert.match(said[0]!, /^Downloading Electron .* \(once: it is kept beside the electron package\)…$/);
      const steps = said.filter((l) => /^Downloading Electron [\d.]+: \d+% \(/.test(l));
      assert.ok(steps.length >= 2, `progress in steps: ${r.stderr}`);
      assert.match(steps[steps.length - 1]!, /: 100% \(/);
      assert.equal(said[said.length - 1], `Electron ${VERSION} is ready.`);
      assert.deepEqual((JSON.parse(fs.readFileSync(out, 'utf8')) as { argv: string[] }).argv, [ROOT, LINK]);
      // in place as electron's own install.js leaves it: dist/, its version, and path.txt
      assert.equal(fs.readFileSync(path.join(s.pkg, 'path.txt'), 'utf8'), EXE);
      assert.equal(fs.readFileSync(path.join(s.pkg, 'dist', 'version'), 'utf8'), VERSION);
      assert.deepEqual(
        tree(s.pkg).filter((f) => f.startsWith('.')),
        [],
        'no temporary folder',
      );
      assert.deepEqual(
        tree(s.tmp).filter((f) => !f.startsWith('drayer-')),
        [],
        'no temporary download',
      );

      fs.rmSync(out);
      const hits = m.hits.length;
      const again = await start([LINK], s.env);
      assert.equal(again.code, 3);
      assert.deepEqual(lines(again.stderr), [], 'no download the second time');
      assert.equal(m.hits.length, hits);
      assert.deepEqual((JSON.parse(fs.readFileSync(out, 'utf8')) as { argv: string[] }).argv, [ROOT, LINK]);
    } finally {
      await m.close();
    }
  },
);

test('npm run dist hands electron-builder the same Electron (electronDist), passes its arguments on, and rebuilds better-sqlite3 for Node after', async () => {
  const s = sandbox();
  const dist = path.join(s.dir, 'override');
  standIn(path.join(dist, EXE), path.join(s.dir, 'unused.json'));
  // npm's own tools, as `npm run` names them in npm_execpath: stand-ins that record their arguments
  const tools = path.join(s.dir, 'npm', 'bin');
  fs.mkdirSync(tools, { recursive: true });
  for (const t of ['npx', 'npm']) {
    fs.writeFileSync(
      path.join(tools, `${t}-cli.js`),
      `require('fs').appendFileSync(${JSON.stringify(path.join(s.dir, 'calls.jsonl'))}, JSON.stringify(['${t}', ...process.argv.slice(2)]) + '\\n');\n`,
    );
  }
  const env = { ...s.env, ELECTRON_OVERRIDE_DIST_PATH: dist, npm_execpath: path.join(tools, 'npm-cli.js') };
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [path.join(ROOT, 'scripts', 'dist.js'), '--dir'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.once('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  const calls = fs
    .readFileSync(path.join(s.dir, 'calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
  assert.deepEqual(calls, [
    ['npx', '--yes', 'electron-builder@26.17.0', `-c.electronDist=${dist}`, '--dir'],
    ['npm', 'rebuild', 'better-sqlite3'],
  ]);

  // without any Electron to be had, it says why and builds nothing
  fs.rmSync(path.join(s.dir, 'calls.jsonl'));
  const none = spawn(process.execPath, [path.join(ROOT, 'scripts', 'dist.js')], {
    env: { ...env, ELECTRON_OVERRIDE_DIST_PATH: '', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  none.stderr!.setEncoding('utf8').on('data', (d: string) => (said += d));
  assert.equal(await new Promise((resolve) => none.once('exit', resolve)), 1);
  assert.match(said, /^No Electron binary here, and ELECTRON_SKIP_BINARY_DOWNLOAD is set\. Installers need Electron/);
  assert.equal(fs.existsSync(path.join(s.dir, 'calls.jsonl')), false);
});
