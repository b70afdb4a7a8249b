// Preloaded (`node --require`) into the app processes of differential.integration.test.ts: compiles
// the TypeScript of the app and of the workspace packages with swc exactly as jest.config.ts does
// (legacy decorators with design-type metadata, which Nest's injection and MikroORM need and which
// tsx's esbuild does not emit), and resolves `@stockpyle/*` to the packages' sources, so the
// processes run what the tests run, with no build. Needs Node's synchronous module hooks (22.15+).
const { existsSync, readFileSync } = require('node:fs');
const { registerHooks } = require('node:module');
const { dirname, join, resolve } = require('node:path');
const { fileURLToPath, pathToFileURL } = require('node:url');
const { transformSync } = require('@swc/core');

const root = resolve(__dirname, '../../../..');
// The packages and their subpath entries (`@stockpyle/core/testing`, `/opentelemetry`): each an index.ts.
const workspace = /^@stockpyle\/(core|memcache|redis|mikro-orm|nestjs)(?:\/(testing|opentelemetry))?$/;
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

registerHooks({
  resolve(specifier, context, nextResolve) {
    const pkg = workspace.exec(specifier);
    if (pkg) return { url: pathToFileURL(join(root, 'packages', pkg[1], 'src', pkg[2] ?? '', 'index.ts')).href, format: 'commonjs', shortCircuit: true };
    if (/^\.\.?\//.test(specifier) && context.parentURL?.endsWith('.ts')) {
      const base = resolve(dirname(fileURLToPath(context.parentURL)), specifier);
      for (const file of [`${base}.ts`, join(base, 'index.ts')]) {
        if (existsSync(file)) return { url: pathToFileURL(file).href, format: 'commonjs', shortCircuit: true };
      }
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
    const filename = fileURLToPath(url);
    const { code } = transformSync(readFileSync(filename, 'utf8'), { ...swcOptions, filename });
    return { format: 'commonjs', source: code, shortCircuit: true };
  },
});
