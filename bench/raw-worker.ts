// A thread of rawVerifyRateThreads (common.ts): measures the raw verify rate when told to.
import { parentPort } from 'node:worker_threads';
import { rawVerifyRate, type RawBackend } from './common.js';

const port = parentPort!;
port.on('message', (m: { ms: number; backend: RawBackend }) => port.postMessage(rawVerifyRate(m.ms, m.backend)));
port.postMessage('ready');
