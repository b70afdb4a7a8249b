// A preload (`node --require`) for child processes that tests fork: resolves the packages of the
// stack under test (STOCKPYLE_STACK_DIR) from that stack's folder, as test-support/stack-resolver.cjs
// does for jest's own modules, so a child runs on the same MikroORM major as the test that forked it.
// Without STOCKPYLE_STACK_DIR (today's stack: the root install) it changes nothing.
'use strict';
const Module = require('node:module');
const { stackTarget } = require('./stack-resolver.cjs');

const original = Module._resolveFilename;
Module._resolveFilename = function resolveFromStack(request, parent, isMain, options) {
  const redirected = stackTarget(request);
  if (redirected === undefined) return original.call(this, request, parent, isMain, options);
  return original.call(this, redirected.request, parent, isMain, { ...options, paths: [redirected.basedir] });
};
