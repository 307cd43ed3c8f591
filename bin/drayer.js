#!/usr/bin/env node
// The `drayer` command: runs the compiled CLI (npm install builds it via `prepare`).
import { main } from '../dist/app/cli/cli.js';
process.exitCode = await main(process.argv.slice(2));
