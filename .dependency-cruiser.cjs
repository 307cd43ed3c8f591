// dependency-cruiser: which folder may import which (README "Architecture"). Run by `npm run lint`
// (so by `npm test` and CI) as `depcruise app main renderer test bench scripts`.
// The engine's layers, lowest first; each may import only from the ones before it:
//   app/core < app/store < app/net < app/net/server < app/node < app/cli
// and outside the engine: main/ (the Electron shell) and renderer/ (the React UI) sit on top;
// test/, bench/ and scripts/ may import anything.

// A path that is in `layer` or any layer above it (so "upward" when imported from below `layer`).
const above = {
  store: '^app/(store|net|node|cli)/',
  net: '^app/(net|node|cli)/',
  server: '^app/(net/server|node|cli)/',
  node: '^app/(node|cli)/',
  cli: '^app/cli/',
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      // A circle means neither module can be loaded, tested or understood without the other, and at
      // run time one of them sees the other half-initialised. Type-only imports count too
      // (tsPreCompilationDeps below): a type circle is a design circle.
      name: 'no-circular',
      severity: 'error',
      comment: 'Import circle: move what both sides need down into a module both can import (e.g. app/core).',
      from: {},
      to: { circular: true },
    },
    // Upward imports: a lower layer that imports a higher one drags the higher one (and its
    // dependencies) into everything below it, and is how circles start.
    {
      name: 'core-imports-up',
      severity: 'error',
      comment: 'app/core is the bottom layer (bytes, keys, errors): it imports no other layer.',
      from: { path: '^app/core/' },
      to: { path: above.store },
    },
    {
      name: 'store-imports-up',
      severity: 'error',
      comment: 'app/store (one stream on disk) may import only app/core.',
      from: { path: '^app/store/' },
      to: { path: above.net },
    },
    {
      name: 'net-imports-up',
      severity: 'error',
      comment: 'app/net (sync client, discovery, LAN rules) may import only app/core and app/store.',
      from: { path: '^app/net/', pathNot: '^app/net/server/' },
      to: { path: above.server },
    },
    {
      name: 'server-imports-up',
      severity: 'error',
      comment: 'app/net/server (HTTP routes, the generated page) may import app/core, app/store and app/net.',
      from: { path: '^app/net/server/' },
      to: { path: above.node },
    },
    {
      name: 'node-imports-up',
      severity: 'error',
      comment: 'app/node (a running Drayer, the DrayerApi) must not import the command line.',
      from: { path: '^app/node/' },
      to: { path: above.cli },
    },
    {
      name: 'app-imports-outside',
      severity: 'error',
      comment: 'The engine runs under plain Node and knows nothing of the shell, the UI or the tests that use it.',
      from: { path: '^app/' },
      to: { path: '^(main|renderer|test|bench|scripts)/' },
    },
    {
      // The engine runs headless (the `drayer` command, the web UI, CI): Electron exists only in main/.
      name: 'no-electron-in-app',
      severity: 'error',
      comment: 'No electron import under app/: pass what the engine needs in from main/ (as the key cipher is).',
      from: { path: '^app/' },
      to: { path: '(^|/)node_modules/electron/|^electron$' },
    },
    {
      // The shell starts a Node and reads keys at rest; the network and CLI layers are the Node's business.
      name: 'main-imports',
      severity: 'error',
      comment: 'main/ may import app/node, app/store (keys at rest) and app/core only.',
      from: { path: '^main/' },
      to: { path: '^(app/(net|cli)/|renderer/|test/|bench/|scripts/)' },
    },
    {
      // The renderer runs in a browser page (Electron's, or the web UI's) and talks to the engine
      // only through the DrayerApi, so of the engine it may import just the API types and the pure
      // shared modules that need neither Node nor disk (pgpwords: the private phone page names a
      // stream it does not hold by its key's words, as the public page does; sealed-open: the phone
      // opens sealed values with the engine's own layout instead of a copy of it).
      name: 'renderer-imports',
      severity: 'error',
      comment:
        'renderer/ may import only app/node/api.ts (types), app/node/boot-calls.ts (the calls GET /api/boot answers) and app/core/{text,units,site,shapes,errors,mentions,pgpwords,sealed-open}.ts of the engine; call anything else through the DrayerApi.',
      from: { path: '^renderer/' },
      to: {
        path: '^(app|main|test|bench|scripts)/',
        pathNot: '^app/(node/(api|boot-calls)|core/(text|units|site|shapes|errors|mentions|pgpwords|sealed-open))\\.ts$',
      },
    },
    {
      // What the renderer and the phone page import of app/core runs in a browser: a Node built-in there breaks the page's bundle.
      name: 'browser-core-no-node',
      severity: 'error',
      comment: 'app/core modules the renderer imports (text, units, site, shapes, errors, mentions, pgpwords, sealed-open) must not import Node built-ins.',
      from: { path: '^app/core/(text|units|site|shapes|errors|mentions|pgpwords|sealed-open)\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Only build output is left out: excluding node_modules would hide the imports of packages (electron).
    exclude: { path: '^(dist|test-results)/' },
    // Count `import type` too: a type-only circle or upward import is still a design problem.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve `./x.js` to `./x.ts` (NodeNext style) and the renderer's extensionless imports.
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
