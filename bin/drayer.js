#!/usr/bin/env node
// The `drayer` command: runs the CLI as scripts/build-cli.mjs bundled it (npm install builds it via
// `prepare`): a node starts from a few files instead of the ~200 modules under dist/app.
let cli;
try {
  cli = await import('../dist/bundle/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('cli.js')) throw e;
  console.error(
    `drayer: the command is not built (${new URL('../dist/bundle/cli.js', import.meta.url).pathname} is missing). Run "npm run build" in the project.`,
  );
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
