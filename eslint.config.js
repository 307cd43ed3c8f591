// ESLint, run by `npm run lint` (and so by `npm test` and CI). A SMALL set of rules, each one here
// because it catches a real bug the type checker lets through. Layout is Prettier's job
// (.prettierrc); which folder may import which is dependency-cruiser's (.dependency-cruiser.cjs).
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  {
    // Built output, installed code, run artefacts and generated/static assets.
    ignores: ['dist/', 'node_modules/', 'test-results/', 'renderer/public/', 'tmp/', 'scratch/'],
  },
  {
    // Every source file, TypeScript or plain JavaScript. These rules need no type information,
    // so they cost almost nothing.
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // A disable comment that no longer disables anything hides the next real finding on that line.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Mistakes that type-check: `if (a = b)`, `x ?? y` where x can never be nullish, `x === x`,
      // a `return` in `finally` that swallows the error, an async Promise executor whose throw is lost.
      'no-cond-assign': 'error',
      'no-constant-binary-expression': 'error',
      'no-self-compare': 'error',
      'no-unsafe-finally': 'error',
      'no-async-promise-executor': 'error',
      // Dead code is usually a half-finished change (a value computed and then not used, an import left
      // behind by a refactor). `_name` marks a parameter or binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Type-only imports marked `type` are erased at build time, so they cannot load a module (or
      // start a cycle at run time) by accident; `--fix` writes them. `import('x').T` in a type is fine.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    // Promise mistakes, which need the type checker (the slow part of the run, so only here). In the
    // engine, the desktop shell and the renderer an unhandled rejection is a lost error or a crash.
    files: ['app/**/*.ts', 'main/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/vite.config.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise neither awaited, returned, caught nor marked `void`: its error vanishes.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a callback's result is ignored (setTimeout, an event handler,
      // forEach): its rejection is unhandled. Also `if (promise)`, which is always true.
      '@typescript-eslint/no-misused-promises': 'error',
      // `await` (or Promise.all) on something that is not a promise: usually a forgotten call.
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // React's rules of hooks: a hook called conditionally, or an effect that reads a value it does
    // not list as a dependency, shows stale data or loops.
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // A store selector that makes a new array or object on every read (`use…((s) => s.x ?? [])`)
      // never gives the same snapshot twice, so React re-renders until it gives up (error #185).
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.name=/^use(?!State|Memo|Ref|Callback|Reducer)[A-Z]/] > ArrowFunctionExpression > LogicalExpression > :matches(ArrayExpression, ObjectExpression).right',
          message: 'A selector must not make a new [] or {} per read (React error #185): return a constant made once.',
        },
      ],
    },
  },
);
