// Every line of main/ runs in `npm test`, without an Electron binary: the desktop tests (the plain
// modules' desktop-ipc and desktop-shell, and desktop-main.scenarios, which runs main/index.ts
// and main/preload.ts against the recording stand-in of `electron`) run in a child `node --test`
// with V8 coverage on (NODE_V8_COVERAGE), inside a private network namespace since the app's
// Node listens on every address and multicasts. Then each file of main/ gets its line coverage,
// mapped from dist/main/*.js to the .ts through tsc's source maps, printed as a table, and must
// be at least 90%. preload.ts is measured as tsc compiles it (dist/main/preload.js, the same
// source the bundled preload.cjs is built from; desktop-ipc checks the bundle itself).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';
import { tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_TEST = path.join(ROOT, 'dist', 'test');
const MIN_LINES = 90;

interface V8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface V8Script {
  url: string;
  functions: { ranges: V8Range[] }[];
}

/** Per character of `code`: how often it ran in one script instance (innermost range wins). */
function paint(code: string, script: V8Script): Uint32Array {
  const counts = new Uint32Array(code.length);
  const ranges = script.functions.flatMap((f) => f.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const r of ranges) counts.fill(r.count, r.startOffset, Math.min(r.endOffset, code.length));
  return counts;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A source map's mappings: [generated line, generated column, source line] (all from 0), source 0 only (tsc writes one). */
function decodeMappings(mappings: string): [number, number, number][] {
  const out: [number, number, number][] = [];
  let srcLine = 0;
  let src = 0;
  let _srcCol = 0; // decoded only to keep the fields in step
  mappings.split(';').forEach((line, genLine) => {
    let genCol = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const v: number[] = [];
      let shift = 0;
      let acc = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        acc += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          v.push(acc & 1 ? -(acc >>> 1) : acc >>> 1);
          acc = 0;
          shift = 0;
        }
      }
      genCol += v[0]!;
      if (v.length >= 4) {
        src += v[1]!;
        srcLine += v[2]!;
        _srcCol += v[3]!;
        if (src === 0) out.push([genLine, genCol, srcLine]);
      }
    }
  });
  return out;
}

interface FileCoverage {
  file: string;
  lines: number;
  covered: number;
  missed: number[];
}

/**
 * Line coverage of one main/ file: a line of the .ts counts when code starting on it was compiled
 * (a source-map segment at a token that is not a comment, a closing bracket or a separator: a lone
 * `}` after a return is not a line of its own), and it is covered when any of that code ran in any run.
 */
function coverageOf(tsFile: string, scripts: V8Script[]): FileCoverage {
  const js = path.join(ROOT, 'dist', 'main', path.basename(tsFile).replace(/\.ts$/, '.js'));
  const code = fs.readFileSync(js, 'utf8');
  const map = JSON.parse(fs.readFileSync(`${js}.map`, 'utf8')) as { mappings: string };
  const url = pathToFileURL(js).href;
  const runs = scripts.filter((s) => s.url.replace(/[?#].*$/, '') === url).map((s) => paint(code, s));
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const lines = new Map<number, boolean>();
  for (const [genLine, genCol, srcLine] of decodeMappings(map.mappings)) {
    const at = lineStarts[genLine]! + genCol;
    if (at >= code.length || /[\s)\]};,]/.test(code[at]!) || code.startsWith('//', at) || code.startsWith('/*', at)) continue;
    const ran = runs.some((c) => c[at]! > 0);
    lines.set(srcLine, (lines.get(srcLine) ?? false) || ran);
  }
  const missed = [...lines]
    .filter(([, ran]) => !ran)
    .map(([l]) => l + 1)
    .sort((a, b) => a - b);
  return { file: `main/${path.basename(tsFile)}`, lines: lines.size, covered: lines.size - missed.length, missed };
}

function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; i++) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j;
  }
  return out.join(',');
}

test(`main/ runs under the electron stand-in; every file of main/ has at least ${MIN_LINES}% of its lines covered`, async (t) => {
  if (!netnsAvailable()) return void t.skip(`the scenarios of main/index.ts ${NETNS_SKIP_REASON}`);
  const covDir = tmpDir('drayer-v8cov-');
  const files = ['desktop-ipc.test.js', 'desktop-shell.test.js', 'desktop-main.scenarios.js'].map((f) => path.join(DIST_TEST, f));
  // NODE_TEST_CONTEXT would make the inner runner report to this one instead of running its files.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = await runInNetns(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
    cwd: ROOT,
    env: { ...env, NODE_V8_COVERAGE: covDir },
    timeoutMs: 300_000,
  });
  assert.equal(r.timedOut, false, 'the desktop tests ran past 5 minutes');
  assert.equal(r.code, 0, `the desktop tests failed:\n${r.stdout.slice(-20_000)}\n${r.stderr.slice(-5_000)}`);

  const scripts: V8Script[] = fs
    .readdirSync(covDir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(covDir, f), 'utf8')) as { result: V8Script[] }).result)
    .filter((s) => s.url.includes('/dist/main/'));
  const mainTs = fs
    .readdirSync(path.join(ROOT, 'main'))
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const table = mainTs.map((f) => coverageOf(path.join(ROOT, 'main', f), scripts));
  const pct = (c: FileCoverage): number => (c.lines ? (100 * c.covered) / c.lines : 100);
  const rows = table.map(
    (c) => `${c.file.padEnd(22)} ${String(c.covered).padStart(5)} / ${String(c.lines).padEnd(5)} ${pct(c).toFixed(1).padStart(6)}%  ${ranges(c.missed)}`,
  );
  const all = table.reduce((a, c) => ({ lines: a.lines + c.lines, covered: a.covered + c.covered }), { lines: 0, covered: 0 });
  console.log(
    [
      'Line coverage of main/ (desktop-ipc, desktop-shell, desktop-main.scenarios):',
      `${'file'.padEnd(22)} covered/lines       %  lines not run`,
      ...rows,
      `${'all'.padEnd(22)} ${String(all.covered).padStart(5)} / ${String(all.lines).padEnd(5)} ${((100 * all.covered) / all.lines).toFixed(1).padStart(6)}%`,
    ].join('\n'),
  );
  for (const c of table) {
    assert.ok(c.lines > 0, `${c.file}: no lines measured (never loaded?)`);
    assert.ok(pct(c) >= MIN_LINES, `${c.file}: ${pct(c).toFixed(1)}% of lines covered, under ${MIN_LINES}% (lines not run: ${ranges(c.missed)})`);
  }
});
