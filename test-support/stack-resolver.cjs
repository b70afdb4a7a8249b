// jest's resolver for `npm test`'s stacks (stacks/README.md): when STOCKPYLE_STACK_DIR names an
// installed stack, every import of a package that stack holds (its package.json dependencies, and
// the specifiers its "stockpyle.aliases" map) resolves from there instead of the root install, so
// the same sources and tests run against another major of MikroORM, NestJS or keyv. Without it,
// jest's default resolution.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const stackDir = process.env.STOCKPYLE_STACK_DIR;
const stack = stackDir === undefined ? undefined : JSON.parse(readFileSync(join(stackDir, 'package.json'), 'utf8'));
const held = new Set(Object.keys(stack?.dependencies ?? {}));
const aliases = stack?.stockpyle?.aliases ?? {};

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; relative and absolute paths → undefined. */
function packageOf(request) {
  if (request.startsWith('.') || request.startsWith('/') || request.startsWith('node:')) return undefined;
  const parts = request.split('/');
  return request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Where the stack under test redirects `request`: the specifier to resolve and the folder to resolve it from. */
function stackTarget(request) {
  if (stack === undefined) return undefined;
  const target = aliases[request] ?? request;
  return held.has(packageOf(target)) ? { request: target, basedir: stackDir } : undefined;
}

module.exports = function resolve(request, options) {
  const redirected = stackTarget(request);
  if (redirected !== undefined) return options.defaultResolver(redirected.request, { ...options, basedir: redirected.basedir });
  return options.defaultResolver(request, options);
};
// For test-support/stack-require.cjs, which does the same for child processes.
module.exports.stackTarget = stackTarget;
