#!/usr/bin/env node
// `npm test`: starts the servers the integration tests need (see test-support/), runs jest once per
// stack (stacks/README.md: today's, then the previous one, each on its own Node) with their
// addresses in the environment, stops them afterwards, and exits non-zero if any run failed.
// Extra arguments go to jest: `npm test -- packages/core`; `--stack=today` runs one stack only.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';
import { describeStack, installStack, stackNames } from './stacks.mjs';

const { startTestServices } = tsxRequire('../test-support/test-environment.ts', import.meta.url);
const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)}s`;
const stackArgs = process.argv.slice(2).filter((arg) => arg.startsWith('--stack='));
const jestArgs = process.argv.slice(2).filter((arg) => !arg.startsWith('--stack='));
const has = (...flags) => jestArgs.some((arg) => flags.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));

let services;
let jest;
let interrupted;
const summary = [];

// Ctrl-C or a CI timeout: let jest end, then stop the servers below. A second signal forces the
// exit; the harness's exit hook still kills every server it started.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) process.exit(128 + constants.signals[signal]);
    interrupted = signal;
    console.error(`\nservices: ${signal} received, shutting down`);
    jest?.kill(signal);
  });
}

async function main() {
  const wanted = stackArgs.length > 0 ? stackArgs.flatMap((arg) => arg.slice('--stack='.length).split(',')) : stackNames();
  let stacks;
  try {
    stacks = wanted.map((name) => installStack(name));
  } catch (error) {
    console.error(error.message);
    return 1;
  }
  const startedAt = performance.now();
  try {
    services = await startTestServices();
  } catch (error) {
    console.error(`services: ${error.message}`);
    return 1;
  }
  const started = services.started.length ? services.started.join(', ') : 'none';
  const reused = services.reused.length ? `; reused ${services.reused.join(', ')}` : '';
  console.log(`services: started ${started} in ${seconds(startedAt)}${reused}`);

  let exitCode = 0;
  for (const stack of stacks) {
    if (interrupted) return 128 + constants.signals[interrupted];
    const stackAt = performance.now();
    console.log(`\nstack: ${describeStack(stack)}`);
    const code = await runJest(stack);
    console.log(`stack: ${stack.name} done in ${seconds(stackAt)} (exit code ${code})`);
    if (code !== 0 && exitCode === 0) exitCode = code;
  }
  return exitCode;
}

/** One jest run on one stack: its Node, its packages, and a JSON report for the summary. */
async function runJest(stack) {
  const args = [...jestArgs];
  if (!has('--maxWorkers', '-w', '--runInBand', '-i')) args.push('--maxWorkers=2');
  // jest's own summary lines are not in the plain "N passed, N failed" form CI reads: keep a JSON
  // report to print one, unless the caller asked for something else.
  const otherOutput = ['--json', '--outputFile', '--listTests', '--showConfig', '--help', '--version'];
  const plainRun = !has(...otherOutput, '--watch', '--watchAll');
  const reportDir = mkdtempSync(join(tmpdir(), 'stockpyle-jest-'));
  const report = join(reportDir, 'results.json');
  if (plainRun) args.push('--json', `--outputFile=${report}`);

  const nodeOptions = [process.env.NODE_OPTIONS, stack.jestNodeOptions].filter(Boolean).join(' ');
  const env = {
    ...process.env,
    ...services.env,
    ...stack.env,
    STOCKPYLE_MIKRO_ORM_MAJOR: stack.versions.mikroOrm.split('.')[0],
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
  const code = await new Promise((resolve) => {
    jest = spawn(stack.node, [jestBin, ...args], { stdio: 'inherit', env });
    jest.once('error', (error) => {
      console.error(`could not run jest: ${error.message}`);
      resolve(1);
    });
    jest.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + constants.signals[signal]));
  });
  jest = undefined;
  if (plainRun) summary.push({ stack: stack.name, ...readSummary(report) });
  rmSync(reportDir, { recursive: true, force: true });
  return code;
}

/** One run's counts from jest's JSON report; none when jest ended before writing it (its own output says why). */
function readSummary(report) {
  let results;
  try {
    results = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    return { missing: true, passed: 0, failed: 0, skipped: 0, brokenSuites: 0 };
  }
  return {
    passed: results.numPassedTests,
    failed: results.numFailedTests,
    skipped: results.numPendingTests + results.numTodoTests,
    brokenSuites: results.numRuntimeErrorTestSuites,
  };
}

/**
 * The closing lines: each stack's counts, then their sum in the plain form CI reads, e.g.
 * `tests: 41 passed, 0 failed, 2 skipped`.
 */
function summaryLines() {
  if (summary.length === 0) return [];
  const counts = (r) => `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`;
  const lines = summary.map((r) => {
    const notes = [r.missing ? 'no report: jest did not finish' : '', r.brokenSuites ? `${r.brokenSuites} suites failed to run` : ''].filter(Boolean);
    return `stack ${r.stack}: ${counts(r)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const r of summary) for (const key of Object.keys(total)) total[key] += r[key];
  // A stack whose suites failed to run, or that wrote no report, must not read as green.
  for (const r of summary) if (r.missing || r.brokenSuites) total.failed += Math.max(1, r.brokenSuites);
  return [...lines, `tests: ${counts(total)}`];
}

const exitCode = await main().catch((error) => {
  console.error(error);
  return 1;
});
if (services?.started.length) {
  const stoppingAt = performance.now();
  await services.stop();
  console.log(`services: stopped in ${seconds(stoppingAt)}`);
}
for (const line of summaryLines()) console.log(line);
process.exit(exitCode);
