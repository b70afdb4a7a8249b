#!/usr/bin/env node
// `npm test`: starts the servers the integration tests need (see test-support/), runs jest with
// their addresses in the environment, stops them afterwards, and exits with jest's exit code.
// Extra arguments go to jest: `npm test -- packages/core`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';

const { startTestServices } = tsxRequire('../test-support/test-environment.ts', import.meta.url);
const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)}s`;
const jestArgs = process.argv.slice(2);
const has = (...flags) => jestArgs.some((arg) => flags.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));

let services;
let jest;
let interrupted;
let summary = [];

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
  if (interrupted) return 128 + constants.signals[interrupted];

  const args = [...jestArgs];
  if (!has('--maxWorkers', '-w', '--runInBand', '-i')) args.push('--maxWorkers=2');
  // jest's own summary lines are not in the plain "N passed, N failed" form CI reads: keep a JSON
  // report to print one, unless the caller asked for something else.
  const otherOutput = ['--json', '--outputFile', '--listTests', '--showConfig', '--help', '--version'];
  const plainRun = !has(...otherOutput, '--watch', '--watchAll');
  const reportDir = mkdtempSync(join(tmpdir(), 'stockpyle-jest-'));
  const report = join(reportDir, 'results.json');
  if (plainRun) args.push('--json', `--outputFile=${report}`);

  const code = await new Promise((resolve) => {
    jest = spawn(process.execPath, [jestBin, ...args], { stdio: 'inherit', env: { ...process.env, ...services.env } });
    jest.once('error', (error) => {
      console.error(`could not run jest: ${error.message}`);
      resolve(1);
    });
    jest.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + constants.signals[signal]));
  });
  if (plainRun) summary = readSummary(report);
  rmSync(reportDir, { recursive: true, force: true });
  return code;
}

/** The closing lines, ending in the plain form, e.g. `tests: 41 passed, 0 failed, 2 skipped`. */
function readSummary(report) {
  let results;
  try {
    results = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    return []; // jest ended before writing it; its own output says why
  }
  const skipped = results.numPendingTests + results.numTodoTests;
  return [
    ...(results.numRuntimeErrorTestSuites ? [`suites: ${results.numRuntimeErrorTestSuites} failed to run`] : []),
    `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`,
  ];
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
for (const line of summary) console.log(line);
process.exit(exitCode);
