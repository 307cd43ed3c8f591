#!/usr/bin/env node
// Where Electron's binary is, found the way the electron package finds it (its index.js: path.txt,
// ELECTRON_OVERRIDE_DIST_PATH) and, when missing, fetched the way its install.js fetches it
// (@electron/get with the package's own checksums, mirror and cache settings, then its zip
// extractor). Electron 45 fetches lazily, on the first `require('electron')`, and extracts straight
// into node_modules/electron/dist: a download cut short there leaves a binary that breaks the next
// start. Here the zip is checked against its checksum, extracted into a temporary folder beside
// dist, checked again (the executable and its version), and only then renamed into place.
// One module for `npm start` (scripts/start.js), the Electron end-to-end tests and `npm run dist`.
//
// ELECTRON_SKIP_BINARY_DOWNLOAD=1 never fetches (the package itself no longer reads it: we do).
// DRAYER_ELECTRON_PACKAGE=DIR uses the electron package in DIR instead of node_modules/electron
// (the tests use a copy, so they never touch, or launch, a real binary).
//
// CLI: `node scripts/electron-binary.js` prints the binary's path (exit 0) or why there is none
// (exit 1), fetching it when it can; `--no-fetch` only looks; `--dist` prints the folder to give
// electron-builder as electronDist.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(path.join(ROOT, 'package.json'));
const TEMP_PREFIX = '.drayer-download-';
/** A download that sends nothing for this long is given up (a dead network, a stalled mirror). */
const STALL_MS = 30_000;

/** The executable's path inside Electron's zip, as install.js's getPlatformPath() writes it to path.txt. */
export function platformPath(platform = process.env.ELECTRON_INSTALL_PLATFORM || process.env.npm_config_platform || os.platform()) {
  switch (platform) {
    case 'mas':
    case 'darwin':
      return 'Electron.app/Contents/MacOS/Electron';
    case 'freebsd':
    case 'openbsd':
    case 'linux':
      return 'electron';
    case 'win32':
      return 'electron.exe';
    default:
      return null;
  }
}

/** The electron package's folder, or null when it is not installed. */
export function electronPackageDir(env = process.env) {
  if (env.DRAYER_ELECTRON_PACKAGE) return path.resolve(env.DRAYER_ELECTRON_PACKAGE);
  try {
    return path.dirname(requireHere.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The binary, without fetching anything: `{ path, distDir, source }`, or `{ path: null, reason,
 * canFetch }` saying why not and whether ensureElectron() may fetch it.
 */
export function findElectron(env = process.env) {
  const pkg = electronPackageDir(env);
  if (!pkg) return { path: null, reason: 'The electron package is not installed (run npm install)', canFetch: false };
  const version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
  const want = platformPath();
  if (!want) return { path: null, reason: `Electron has no build for ${os.platform()}`, canFetch: false, version };
  const pathTxt = readText(path.join(pkg, 'path.txt'));
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    // As index.js does, except that without path.txt the platform's own name is used (index.js
    // says 'electron', which is not the name on macOS or Windows).
    const override = path.resolve(env.ELECTRON_OVERRIDE_DIST_PATH);
    const bin = path.join(override, pathTxt || want);
    if (fs.existsSync(bin)) return { path: bin, distDir: override, source: 'ELECTRON_OVERRIDE_DIST_PATH', version };
    return { path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH names no Electron binary (${bin} does not exist)`, canFetch: false, version };
  }
  // install.js's isInstalled(): this version, this platform's path.txt, and the executable.
  const distDir = path.join(pkg, 'dist');
  const bin = path.join(distDir, want);
  const installedVersion = readText(path.join(distDir, 'version'))?.trim().replace(/^v/, '');
  if (installedVersion === version && pathTxt === want && fs.existsSync(bin)) return { path: bin, distDir, source: 'node_modules/electron', version };
  if (env.ELECTRON_SKIP_BINARY_DOWNLOAD)
    return { path: null, reason: 'No Electron binary here, and ELECTRON_SKIP_BINARY_DOWNLOAD is set', canFetch: false, version };
  return { path: null, reason: `No Electron ${version} binary here yet`, canFetch: true, version };
}

/** What went wrong, in a few words: fetch() hides the network's error in its cause. */
function why(err) {
  const cause = err?.cause;
  if (err?.name === 'AbortError' || err?.name === 'TimeoutError') return err.message;
  const first = String(err?.message ?? err).split('\n')[0];
  return (cause?.message ? `${first}: ${String(cause.message).split('\n')[0]}` : first).replace(/\.$/, '');
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Temporary folders of downloads that were cut short (their process is gone): never half a binary in dist. */
function removeStale(pkg) {
  let names = [];
  try {
    names = fs.readdirSync(pkg);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(n.slice(TEMP_PREFIX.length).split('-')[0]);
    if (pid !== process.pid && pidAlive(pid)) continue; // another start is downloading right now
    fs.rmSync(path.join(pkg, n), { recursive: true, force: true });
  }
}

const mb = (n) => `${(n / 1e6).toFixed(0)} MB`;

/**
 * Reports a download's progress: a line each 10% (or one line kept current on a terminal).
 * `end()` finishes a terminal's line, so what is said next starts on its own.
 */
function progressReporter(log, version, stream) {
  const tty = Boolean(stream?.isTTY);
  let lastStep = -1;
  let lastAt = 0;
  let open = false;
  const report = ({ transferred, total, percent }) => {
    const pct = Math.floor((total ? percent : 0) * 100);
    const text = total
      ? `Downloading Electron ${version}: ${pct}% (${mb(transferred)} of ${mb(total)})`
      : `Downloading Electron ${version}: ${mb(transferred)}`;
    if (tty) {
      const now = Date.now();
      if (now - lastAt < 200 && pct < 100) return;
      lastAt = now;
      stream.write(`\r${text}\x1b[K`);
      open = true;
      return;
    }
    const step = total ? Math.floor(pct / 10) : Math.floor(transferred / 10e6);
    if (step === lastStep) return;
    lastStep = step;
    log(text);
  };
  report.end = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return report;
}

/**
 * The binary, fetched first when it is missing and may be fetched: `{ path, distDir, source }`
 * or `{ path: null, reason }`. `log` gets one line saying a download starts and its progress.
 */
export async function ensureElectron({ env = process.env, log = (m) => console.error(m), progressStream = process.stderr } = {}) {
  const found = findElectron(env);
  if (found.path || !found.canFetch) return found;
  const pkg = electronPackageDir(env);
  removeStale(pkg);
  const version = found.version;
  const want = platformPath();
  const pkgRequire = createRequire(path.join(electronPackageDir({}) ?? pkg, 'package.json'));
  const tmp = path.join(pkg, `${TEMP_PREFIX}${process.pid}-${Date.now().toString(36)}`);
  const stall = new AbortController();
  let timer = null;
  let report = null;
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new Error(`the download sent nothing for ${STALL_MS / 1000} s`)), STALL_MS);
    timer.unref?.();
  };
  try {
    const get = await import(pathToFileURL(pkgRequire.resolve('@electron/get')).href);
    const { extract } = pkgRequire('@electron-internal/extract-zip');
    const { platform, arch } = installTarget(env);
    log(`Downloading Electron ${version} for ${platform}-${arch} (once: it is kept beside the electron package)…`);
    report = progressReporter(log, version, progressStream);
    poke();
    // The same call as electron's install.js, with its checksums unless it is told to fetch them.
    const zip = await get.downloadArtifact({
      version,
      artifactName: 'electron',
      force: env.force_no_cache === 'true',
      cacheRoot: env.electron_config_cache,
      checksums:
        env.electron_use_remote_checksums || env.npm_config_electron_use_remote_checksums
          ? undefined
          : JSON.parse(fs.readFileSync(path.join(pkg, 'checksums.json'), 'utf8')),
      platform,
      arch,
      downloadOptions: {
        quiet: true, // its bar shows only after 30 s; ours from the start
        signal: stall.signal,
        getProgressCallback: (p) => {
          poke();
          report(p);
        },
      },
    });
    clearTimeout(timer);
    report.end();
    await extract(zip, { dir: tmp });
    const bin = path.join(tmp, want);
    const got = readText(path.join(tmp, 'version'))?.trim().replace(/^v/, '');
    if (!fs.existsSync(bin)) throw new Error(`the download has no ${want}`);
    if (got !== version) throw new Error(`the download is Electron ${got ?? '(no version file)'}, not ${version}`);
    // install.js moves the zip's typings up beside the package's; so do we.
    const types = path.join(tmp, 'electron.d.ts');
    if (fs.existsSync(types)) fs.renameSync(types, path.join(pkg, 'electron.d.ts'));
    const dist = path.join(pkg, 'dist');
    const old = `${tmp}-old`;
    if (fs.existsSync(dist)) fs.renameSync(dist, old);
    fs.renameSync(tmp, dist);
    fs.rmSync(old, { recursive: true, force: true });
    fs.writeFileSync(`${tmp}.path.txt`, want);
    fs.renameSync(`${tmp}.path.txt`, path.join(pkg, 'path.txt'));
    log(`Electron ${version} is ready.`);
    return { path: path.join(dist, want), distDir: dist, source: 'downloaded', version };
  } catch (e) {
    report?.end();
    return { path: null, reason: `Electron could not be downloaded (${why(stall.signal.aborted ? stall.signal.reason : e)})`, version };
  } finally {
    clearTimeout(timer);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(`${tmp}-old`, { recursive: true, force: true });
    fs.rmSync(`${tmp}.path.txt`, { force: true });
  }
}

/** The platform and arch install.js downloads for (an x64 Node under Rosetta gets the arm64 build). */
function installTarget(env) {
  const platform = env.ELECTRON_INSTALL_PLATFORM || env.npm_config_platform || process.platform;
  let arch = env.ELECTRON_INSTALL_ARCH || env.npm_config_arch || process.arch;
  if (platform === 'darwin' && process.platform === 'darwin' && arch === 'x64' && env.npm_config_arch === undefined) {
    try {
      const { execSync } = requireHere('node:child_process');
      if (execSync('sysctl -in sysctl.proc_translated').toString().trim() === '1') arch = 'arm64';
    } catch {
      /* not under Rosetta */
    }
  }
  return { platform, arch };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const onlyLook = process.argv.includes('--no-fetch');
  const r = onlyLook ? findElectron() : await ensureElectron();
  if (!r.path) {
    console.error(`${r.reason}.`);
    process.exit(1);
  }
  console.log(process.argv.includes('--dist') ? r.distDir : r.path);
}
