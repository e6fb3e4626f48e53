// The import rules of the house, checked by dependency-cruiser:
// `npm run check:imports` (run by .ci/run). Each rule names the arrow it forbids.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles anywhere (type-only imports count too).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'client-stays-in-client',
      severity: 'error',
      comment:
        'The browser client (lib/client/) imports nothing outside lib/client/: no server code, no npm package, no Node built-in.',
      from: { path: '^lib/client/' },
      to: { pathNot: '^lib/client/' },
    },
    {
      name: 'core-without-express',
      severity: 'error',
      comment:
        'The core, lib/http/, the stores, the revocation room and the store contract never import Express, ' +
        'nor the Express glue (lib/express/). Only lib/express/ and the public entry lib/index.ts may.',
      from: { path: '^lib/', pathNot: ['^lib/express/', '^lib/index[.]ts$'] },
      to: { path: ['^lib/express/', '(^|/)node_modules/(express|express4|@types/express)/', '^express$'] },
    },
    {
      name: 'lib-imports-only-lib',
      severity: 'error',
      comment: 'The package (lib/) imports nothing from the tests, the bench, the sample app, examples or tools.',
      from: { path: '^lib/' },
      to: { path: '^(test|bench|sample-app|examples|tools)/' },
    },
    {
      name: 'bench-not-test',
      severity: 'error',
      comment:
        'The bench sits beside the tests, not above them: shared helpers live in tools/. ' +
        "(bench/ may import sample-app/: bench/servers/login.ts measures the sample app's login, a floor below.)",
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'tools-stand-alone',
      severity: 'error',
      comment: 'tools/ is imported by test/ and bench/ and imports neither (nor the app).',
      from: { path: '^tools/' },
      to: { path: '^(test|bench|sample-app|examples)/' },
    },
    {
      name: 'sample-app-public-entries',
      severity: 'error',
      comment:
        "The sample app uses the package as a user would: only lib/index.ts (the package's main entry) " +
        'and lib/client/index.ts; never test/, bench/ or tools/.',
      from: { path: '^sample-app/' },
      to: { path: ['^lib/', '^(test|bench|tools)/'], pathNot: ['^lib/index[.]ts$', '^lib/client/index[.]ts$'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        "Every relative import resolves to a file. (The demo page's browser scripts import " +
        './client/index.js, which the sample app serves from lib/client/ at run time.)',
      from: { pathNot: '^sample-app/public/' },
      to: { couldNotResolve: true, pathNot: '^(node:|[a-z@])' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|[.]tmp)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
