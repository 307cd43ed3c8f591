// One way to write a size (app/units.ts: SI, "1.5 kB"): people once saw "256 KB" in one dialog
// and "180 kB" in the next. Every size the renderer and the phone page show goes through
// formatBytes; this fails when a size is spelt by hand again (a unit in a string literal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../app/core/units.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

/** The code of a file without its comments (what a person could see lives in the code). */
function code(file: string): string {
  return fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');
}

test('sizes shown to people are written by formatBytes alone: no unit spelt in a string in the renderer or the phone page', () => {
  // a number and a unit inside a string or JSX text ("256 KB", `${n} MB`), or a unit string ('KiB')
  const unit = /(\d\s?|\}\s?|['"`]\s?)(B|KB|kB|MB|GB|TB|KiB|MiB|GiB)(?=['"`<\s.,)]|$)/;
  // the phone page's generator is found by name: the app/ folders may move around it
  const phonePage = sources(path.join(ROOT, 'app')).filter((f) => path.basename(f) === 'webpage.ts');
  assert.equal(phonePage.length, 1, 'the phone page generator (webpage.ts) is under app/');
  const files = [...sources(path.join(ROOT, 'renderer')), ...phonePage];
  assert.ok(files.length > 20, `renderer sources found: ${files.length}`);
  const found: string[] = [];
  for (const f of files) {
    code(f)
      .split('\n')
      .forEach((line, i) => {
        // strings only: a size in a string or in JSX text
        for (const m of line.matchAll(/'[^']*'|"[^"]*"|`[^`]*`|>[^<>{}]*</g)) {
          if (unit.test(m[0])) found.push(`${path.relative(ROOT, f)}:${i + 1}: ${m[0]}`);
        }
      });
  }
  assert.deepEqual(found, [], 'spell sizes with formatBytes (app/units.ts)');
});

test('formatBytes writes SI units, as the app and the phone page show them', () => {
  assert.equal(formatBytes(256 * 1024), '262 kB');
  assert.equal(formatBytes(1500), '1.5 kB');
  assert.equal(formatBytes(25_200_000), '25.2 MB');
});
