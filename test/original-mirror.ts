// The real original Drayer in tests: where its source is, how to run it, and the shell script in
// which it mirrors one of our streams and serves its copy (run it ONLY in a private network
// namespace: importing the original binds UDP 15723 and multicasts).
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON } from './netns.js';
import { DRAYER_BIN } from './helpers.js';

export const HELPER = fileURLToPath(new URL('../../test/original/original.py', import.meta.url));
export const SRC = process.env.DRAYER_ORIGINAL_SRC;
export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** Why a test of the real original cannot run here, or false. */
export const skipReal = !SRC ? 'DRAYER_ORIGINAL_SRC is not set (a checkout of the original Python Drayer)' : !netnsAvailable() ? NETNS_SKIP_REASON : false;

/**
 * Our node serves `dir`/data on `port`; the real original follows stream `pk` from it (its
 * httpSync) and serves its copy on `port + 1`; ours stops, `then` runs (it reads the original's
 * copy), and the original stops. Logs: `dir`/serve.log, `dir`/original.log.
 */
export function mirrorScript(dir: string, pk: string, port: number, then: string): string {
  return `
    "${process.execPath}" "${DRAYER_BIN}" serve --data "${dir}/data" --host 127.0.0.1 --port ${port} --no-discovery > "${dir}/serve.log" 2>&1 &
    OURS=$!
    for i in $(seq 1 100); do grep -q "LAN:" "${dir}/serve.log" && break; sleep 0.2; done
    DRAYER_ORIGINAL_SRC="${SRC}" "${PYTHON}" "${HELPER}" mirror "${dir}/theirs.stream" "${pk}" http://127.0.0.1:${port} ${port + 1} > "${dir}/original.log" 2>&1 &
    ORIG=$!
    for i in $(seq 1 600); do grep -q ready "${dir}/original.log" && break; sleep 0.2; done
    kill $OURS
    ${then}
    kill $ORIG
  `;
}
